/**
 * Builds the command line that starts one script in its sandbox (pure, unit-tested):
 *
 *   sh -c '<join the cgroup>; exec "$@"'  -- the wrapper joins the group before anything forks
 *   prlimit --nofile --fsize --core       -- rlimits, inherited by everything below
 *   setpriv --reuid --regid               -- a non-root uid on the host as well
 *   bwrap --unshare-user,pid,ipc,uts[,net] --die-with-parent ... -- the namespace sandbox
 *   <interpreter> /strata/main.<ext>
 */

export type Interpreter = 'bash' | 'sh' | 'python3' | 'node';

export interface SandboxCommandInput {
  bwrap: string;
  uid: number;
  gid: number;
  interpreter: Interpreter;
  /** Interpreter binary on the host. */
  interpreterPath: string;
  /** Host file holding the script. */
  scriptPath: string;
  /** Host paths bound read-only at the same place (missing ones are skipped). */
  readOnlyPaths: readonly string[];
  /** Allow outbound network (share the host's network namespace). */
  network: boolean;
  tmpBytes: number;
  nofile: number;
  maxFileSize: number;
  env: Record<string, string>;
  /** Host cgroup dir -> path inside the sandbox, bound read-only so code can see its limits. */
  cgroupBinds: readonly (readonly [string, string])[];
}

export const SCRIPT_DIR = '/strata';
const EXTENSIONS: Record<Interpreter, string> = { bash: 'sh', sh: 'sh', python3: 'py', node: 'mjs' };
/** Where the node binary appears inside (the worker's own binary lives outside the bound paths). */
export const NODE_INSIDE = '/usr/local/bin/node';

export const scriptNameFor = (interpreter: Interpreter): string => `main.${EXTENSIONS[interpreter]}`;

/** Joins every cgroup.procs file in $STRATA_CGROUP_PROCS, then execs the rest. */
export const WRAPPER_SCRIPT =
  'for f in $STRATA_CGROUP_PROCS; do echo $$ > "$f" || { echo "strata: cannot join cgroup $f" >&2; exit 125; }; done; exec "$@"';

export function sandboxArgv(input: SandboxCommandInput): string[] {
  const inside = input.interpreter === 'node' ? NODE_INSIDE : input.interpreterPath;
  const script = `${SCRIPT_DIR}/${scriptNameFor(input.interpreter)}`;
  const bwrap = [
    input.bwrap,
    '--unshare-user',
    '--uid',
    String(input.uid),
    '--gid',
    String(input.gid),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(input.network ? [] : ['--unshare-net']),
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'strata',
    '--clearenv',
  ];
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    ...input.env,
  };
  for (const [k, v] of Object.entries(env)) bwrap.push('--setenv', k, v);
  for (const p of input.readOnlyPaths) bwrap.push('--ro-bind-try', p, p);
  // Debian's merged /usr: the top-level directories are symlinks.
  bwrap.push('--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64');
  bwrap.push('--symlink', 'usr/bin', '/sbin');
  if (input.interpreter === 'node') bwrap.push('--ro-bind', input.interpreterPath, NODE_INSIDE);
  else if (!input.readOnlyPaths.some((p) => input.interpreterPath.startsWith(`${p}/`)))
    bwrap.push('--ro-bind', input.interpreterPath, input.interpreterPath);
  bwrap.push('--proc', '/proc', '--dev', '/dev');
  bwrap.push('--size', String(input.tmpBytes), '--tmpfs', '/tmp');
  for (const [host, at] of input.cgroupBinds) bwrap.push('--ro-bind', host, at);
  bwrap.push('--ro-bind', input.scriptPath, script, '--chdir', '/tmp');
  bwrap.push('--', inside, script);
  return [
    '/bin/sh',
    '-c',
    WRAPPER_SCRIPT,
    'strata-sandbox',
    'prlimit',
    `--nofile=${input.nofile}:${input.nofile}`,
    `--fsize=${input.maxFileSize}:${input.maxFileSize}`,
    '--core=0:0',
    '--',
    'setpriv',
    `--reuid=${input.uid}`,
    `--regid=${input.gid}`,
    '--clear-groups',
    '--no-new-privs',
    '--',
    ...bwrap,
  ];
}

/** The plain-spawn equivalent (benchmarks): the same interpreter, no sandbox. */
export function plainArgv(interpreterPath: string, scriptPath: string): string[] {
  return [interpreterPath, scriptPath];
}
