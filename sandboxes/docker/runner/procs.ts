/**
 * Processes inside a warm container. The runner runs as uid 0 with a handful of capabilities
 * (SETUID, SETGID, SETPCAP, KILL and file capabilities; see ../hardening.ts); every process of
 * user code is started through `setpriv` as uid/gid 65534 with no groups, an empty bounding set
 * and no inheritable capabilities, so it has no capability at all and cannot open, ptrace or
 * signal the runner or tini (whose /proc/<pid>/fd/* are what carry the protocol).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;
const SETPRIV = '/usr/bin/setpriv';

/** argv that runs `command args` as the sandbox user with every capability gone. */
export function asSandboxUser(command: string, args: readonly string[]): { file: string; args: string[] } {
  if (!existsSync(SETPRIV)) {
    // Images built elsewhere (Dockerfiles) have util-linux; without it we refuse rather than run as root.
    throw new Error(`${SETPRIV} is missing from the runner image: user code must not run with the runner's privileges`);
  }
  return {
    file: SETPRIV,
    args: [
      `--reuid=${SANDBOX_UID}`,
      `--regid=${SANDBOX_GID}`,
      '--clear-groups',
      '--bounding-set=-all',
      '--inh-caps=-all',
      '--no-new-privs',
      '--',
      command,
      ...args,
    ],
  };
}

/** Live (non-zombie) PIDs in this PID namespace. */
function livePids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * SIGKILL every process in the container but init (tini, which reaps them), the runner and the
 * PIDs in `keep` (the JS child): whatever user code left behind — background jobs, setsid'd
 * forks — dies before the container takes the next invocation. Repeats until a pass finds
 * nothing, since a dying fork loop may still have made a child.
 */
export function killStragglers(keep: readonly number[] = []): number {
  const spare = new Set([1, process.pid, ...keep]);
  const killed = new Set<number>();
  for (let round = 0; round < 50; round++) {
    const victims = livePids().filter((pid) => !spare.has(pid));
    if (victims.length === 0) break;
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // already gone
      }
    }
  }
  return killed.size;
}
