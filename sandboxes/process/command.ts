/**
 * Builds the command line that starts one script in its sandbox (pure, unit-tested):
 *
 *   bash -c '<close fds; join the cgroup>; exec "$@"'  -- the wrapper joins the group before anything forks
 *   prlimit --nofile --fsize --core       -- rlimits, inherited by everything below
 *   setpriv --reuid --regid               -- a non-root uid on the host as well
 *   bwrap --unshare-user,pid,ipc,uts,net --die-with-parent ... -- the namespace sandbox
 *         --info-fd 3 --block-fd 4        -- tells the driver its pid, waits until released
 *   <interpreter> /strata/main.<ext>
 *
 * The sandbox always has its own network namespace (only a loopback). With network granted, the
 * proxy variables point at 127.0.0.1:<egress port> inside it, where the driver listens (see
 * src/net/netns-listener.ts), and the proxy's Unix socket is bound at /run/strata/egress.sock.
 * Only /tmp is writable: the root, /dev and everything bound are read-only.
 */

export type Interpreter = 'bash' | 'sh' | 'python3' | 'node';

export interface SandboxCommandInput {
  bwrap: string;
  /** Host bash for the wrapper. */
  shell: string;
  uid: number;
  gid: number;
  interpreter: Interpreter;
  /** Interpreter binary on the host. */
  interpreterPath: string;
  /** Host file holding the script. */
  scriptPath: string;
  /** Host paths bound read-only at the same place (missing ones are skipped). */
  readOnlyPaths: readonly string[];
  /** The writable /tmp: a mounted scratch disk, or a size-capped tmpfs. */
  scratch: { kind: 'disk'; path: string } | { kind: 'tmpfs'; bytes: number };
  /** Network granted: the proxy's port inside the sandbox and its Unix socket on the host. */
  egress?: { port: number; socketPath: string };
  nofile: number;
  maxFileSize: number;
  env: Record<string, string>;
  /** Host cgroup dir -> path inside the sandbox, bound read-only so code can see its limits. */
  cgroupBinds: readonly (readonly [string, string])[];
}

export const SCRIPT_DIR = '/strata';
/** bwrap writes {"child-pid": N, ...} here once the namespaces exist. */
export const INFO_FD = 3;
/** bwrap waits for a byte here before it runs the interpreter. */
export const BLOCK_FD = 4;
export const EGRESS_SOCKET_INSIDE = '/run/strata/egress.sock';

/** The variables curl, python, node (NODE_USE_ENV_PROXY) and most HTTP clients read. */
export function proxyEnv(port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NODE_USE_ENV_PROXY: '1',
    STRATA_EGRESS_SOCKET: EGRESS_SOCKET_INSIDE,
  };
}
const EXTENSIONS: Record<Interpreter, string> = { bash: 'sh', sh: 'sh', python3: 'py', node: 'mjs' };
/** Where the node binary appears inside (the worker's own binary lives outside the bound paths). */
export const NODE_INSIDE = '/usr/local/bin/node';

export const scriptNameFor = (interpreter: Interpreter): string => `main.${EXTENSIONS[interpreter]}`;

/**
 * Closes every descriptor but stdio and bwrap's two (the worker may have inherited others, and
 * a spawned child inherits whatever is not close-on-exec), joins every cgroup.procs file in
 * $STRATA_CGROUP_PROCS, then execs the rest. Bash: dash cannot name descriptors above 9.
 */
export const WRAPPER_SCRIPT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
  'for f in /proc/self/fd/*; do n=${f##*/}; case $n in 0|1|2|3|4) ;; *) eval "exec $n>&-" 2>/dev/null;; esac; done; ' +
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
    '--unshare-net',
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'strata',
    '--clearenv',
    '--info-fd',
    String(INFO_FD),
    '--block-fd',
    String(BLOCK_FD),
  ];
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    ...input.env,
    // Last: a function's env cannot point the proxy elsewhere.
    ...(input.egress ? proxyEnv(input.egress.port) : {}),
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
  if (input.scratch.kind === 'disk') bwrap.push('--bind', input.scratch.path, '/tmp');
  else bwrap.push('--size', String(input.scratch.bytes), '--tmpfs', '/tmp');
  for (const [host, at] of input.cgroupBinds) bwrap.push('--ro-bind', host, at);
  if (input.egress) bwrap.push('--ro-bind', input.egress.socketPath, EGRESS_SOCKET_INSIDE);
  bwrap.push('--ro-bind', input.scriptPath, script);
  // bwrap's root and /dev are tmpfs mounts without a size: read-only, only /tmp stays writable.
  bwrap.push('--remount-ro', '/dev', '--remount-ro', '/', '--chdir', '/tmp');
  bwrap.push('--', inside, script);
  return [
    input.shell,
    // No rc files: bash sources ~/.bashrc when stdin is a socket (it guesses "run by sshd").
    '--norc',
    '--noprofile',
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
