// A network namespace with only loopback (iproute2's `ip netns`): what runs inside can reach
// 127.0.0.1 and nothing else, as on a machine with no network. Needs root (CAP_SYS_ADMIN).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';

export const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? null;

export interface Netns {
  name: string;
  /** A command line that runs `command` inside the namespace. */
  exec(command: string[]): string[];
  /** An executable that runs `program` inside the namespace with the arguments it is given. */
  wrapper(program: string, scriptPath: string): string;
  /** The namespace's network interfaces, as `ip -o link` names them. */
  links(): string[];
  remove(): void;
}

/** A fresh namespace with loopback up, or the reason it cannot be made here. */
export function createNetns(name: string): Netns | string {
  if (!IP) return 'iproute2 (ip) is not installed';
  try {
    execFileSync(IP, ['netns', 'add', name], { stdio: 'pipe' });
  } catch (e) {
    return `ip netns add failed (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): it needs root`;
  }
  execFileSync(IP, ['netns', 'exec', name, IP, 'link', 'set', 'lo', 'up']);
  return {
    name,
    exec: (command) => [IP, 'netns', 'exec', name, ...command],
    wrapper(program, scriptPath) {
      writeFileSync(scriptPath, `#!/bin/sh\nexec ${IP} netns exec ${name} ${program} "$@"\n`);
      chmodSync(scriptPath, 0o755);
      return scriptPath;
    },
    links: () =>
      execFileSync(IP, ['netns', 'exec', name, IP, '-o', 'link'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1].trim()),
    remove: () => execFileSync(IP, ['netns', 'del', name]),
  };
}
