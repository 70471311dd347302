// The renderer's Content-Security-Policy, shared by the Electron protocol handler and browser mode.
// No remote anything: scripts, styles, images and fonts come from the app itself; model output
// can never load a remote image or reach the network.
export function contentSecurityPolicy(extraConnectSrc = ''): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // Svelte sets some inline style attributes; styles cannot run script.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${extraConnectSrc ? ' ' + extraConnectSrc : ''}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
    "object-src 'none'",
    "worker-src 'none'",
  ].join('; ');
}
