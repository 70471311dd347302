// Zero egress as a test: a process run under strace records every connect() it makes (and its
// children's); afterwards each is checked to be a local socket or loopback. strace is Debian's
// (.ci/run installs it when missing).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p)) ?? null;

/** The command line that runs `command` with its connect() calls written to files `log.<pid>`. */
export function traced(command: string[], log: string): string[] {
  if (!STRACE) throw new Error('strace is not installed');
  // connect() for every connection; sendmmsg/sendto with their bytes to read DNS questions.
  return [STRACE, '-f', '-ff', '-qq', '--seccomp-bpf', '-s', '300', '-e', 'trace=connect,execve,sendmmsg,sendto', '-o', log, ...command];
}

/** The bytes of a string as strace prints it (C escapes, octal for the rest). */
function unescape(text: string): Buffer {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, '\\': 92, a: 7, b: 8 };
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      bytes.push(...Buffer.from(text[i], 'latin1'));
      continue;
    }
    const next = text[i + 1];
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))?.[0];
    if (octal) {
      bytes.push(parseInt(octal, 8));
      i += octal.length;
    } else if (next === 'x') {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes);
}

/** The names asked of DNS (the question of each query a process sent), from the trace files under `log`. */
export function dnsQuestionsIn(log: string): string[] {
  const dir = dirname(log);
  const prefix = `${log.slice(dir.length + 1)}.`;
  const names = new Set<string>();
  for (const name of readdirSync(dir).filter((n) => n.startsWith(prefix))) {
    // Sockets connected to a DNS server (port 53), and the call a resumed line belongs to.
    const dnsSockets = new Set<string>();
    let pendingFd: string | null = null;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      const connect = /connect\((\d+), .*htons\(53\)/.exec(line);
      if (connect) dnsSockets.add(connect[1]);
      const call = /send(?:mmsg|to)\((\d+),/.exec(line);
      if (call) pendingFd = call[1];
      const fd = call ? call[1] : /<\.\.\. send(mmsg|to) resumed>/.test(line) ? pendingFd : null;
      if (fd === null || !dnsSockets.has(fd)) continue;
      for (const m of line.matchAll(/(?:iov_base=|sendto\(\d+, )"((?:[^"\\]|\\.)*)"/g)) {
        const packet = unescape(m[1]);
        // A DNS query: a 12-byte header with one question, then the name as length-prefixed labels.
        if (packet.length < 17 || packet.readUInt16BE(4) !== 1 || (packet[2] & 0x80) !== 0) continue;
        const labels: string[] = [];
        let at = 12;
        while (at < packet.length && packet[at] > 0 && packet[at] < 64) {
          labels.push(packet.subarray(at + 1, at + 1 + packet[at]).toString('latin1'));
          at += 1 + packet[at];
        }
        if (labels.length && packet[at] === 0 && labels.every((l) => /^[a-z0-9_-]+$/i.test(l))) names.add(labels.join('.').toLowerCase());
      }
    }
  }
  return [...names].sort();
}

/** A script that starts `program` under strace (for a browser a library launches itself). */
export function tracedExecutable(program: string, log: string, script: string): string {
  writeFileSync(script, `#!/bin/sh\nexec ${traced([program], log).map((a) => `'${a}'`).join(' ')} "$@"\n`);
  chmodSync(script, 0o755);
  return script;
}

export interface Connect {
  family: string;
  address: string;
  line: string;
  /** The program the process was running (its last execve), when it ran one. */
  program: string | null;
}

/** Every connect() recorded under `log` (all its processes' files). */
export function connectsIn(log: string): Connect[] {
  const dir = dirname(log);
  const prefix = `${log.slice(dir.length + 1)}.`;
  const out: Connect[] = [];
  for (const name of readdirSync(dir).filter((n) => n.startsWith(prefix))) {
    let program: string | null = null;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      const exec = /execve\("([^"]+)"/.exec(line);
      if (exec) program = exec[1];
      const m = /connect\(\d+, \{sa_family=(AF_\w+)(.*?)\}, \d+\)/.exec(line);
      if (!m) continue;
      const address = /sun_path="([^"]*)"/.exec(m[2])?.[1] ?? /inet_addr\("([^"]+)"\)/.exec(m[2])?.[1] ?? /inet_pton\(AF_INET6, "([^"]+)"/.exec(m[2])?.[1] ?? m[2];
      out.push({ family: m[1], address, line: line.trim(), program });
    }
  }
  return out;
}

/** Whether a connect() stays on this machine: a local socket, or the loopback address. */
export function staysLocal(c: Connect): boolean {
  if (c.family === 'AF_UNIX' || c.family === 'AF_UNSPEC' || c.family === 'AF_NETLINK') return true;
  if (c.family === 'AF_INET') return c.address.startsWith('127.');
  if (c.family === 'AF_INET6') return c.address === '::1' || c.address.startsWith('::ffff:127.');
  return false;
}

/**
 * Chromium's own background lookups (its sign-in and update services), made by the browser
 * whatever page it shows: the test harness's browser, not Enclave's doing.
 */
export const CHROMIUM_OWN_HOSTS = /(^|\.)(google\.com|googleapis\.com|gstatic\.com|gvt1\.com|gvt2\.com)$/;

/** Whether strace can trace here (a container may forbid ptrace). */
export function straceWorks(): boolean {
  if (!STRACE) return false;
  try {
    execFileSync(STRACE, ['-qq', '-e', 'trace=connect', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
