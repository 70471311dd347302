// Browser-mode transport: the router and the event bus over a WebSocket on 127.0.0.1.
// A connection must present this launch's random token and come from the app's own origin.
import type { IncomingMessage, Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventBus } from '../core/events.ts';
import type { Router } from '../core/router.ts';

export const RPC_PATH = '/rpc';
const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface WireRequest {
  id: number;
  method: string;
  payload: unknown;
}

export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function attachWebSocketTransport(
  server: Server,
  deps: { router: Router; events: EventBus; token: string; allowedOrigin: () => string },
): WebSocketServer {
  const wss = new WebSocketServer({
    server,
    path: RPC_PATH,
    maxPayload: MAX_MESSAGE_BYTES,
    verifyClient: ({ req, origin }: { req: IncomingMessage; origin: string }) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      return origin === deps.allowedOrigin() && tokenMatches(deps.token, url.searchParams.get('token'));
    },
  });

  wss.on('connection', (socket: WebSocket) => {
    const unsubscribe = deps.events.subscribeWindow((event, payload) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ event, payload }));
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    socket.on('message', async (data, isBinary) => {
      let request: WireRequest;
      try {
        if (isBinary) throw new Error('binary');
        const parsed: unknown = JSON.parse(data.toString());
        if (typeof parsed !== 'object' || parsed === null || typeof (parsed as WireRequest).id !== 'number') throw new Error('shape');
        request = parsed as WireRequest;
      } catch {
        socket.send(JSON.stringify({ id: null, result: { ok: false, error: { code: 'ipc/invalid-input', message: 'Malformed request.' } } }));
        return;
      }
      const result = await deps.router.call(request.method, request.payload);
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ id: request.id, result }));
    });
  });
  return wss;
}
