/** Fingerprint: can this host run bubblewrap sandboxes as an unprivileged uid? */
import { spawnSync } from 'node:child_process';

export interface SandboxProbe {
  ok: boolean;
  reason?: string;
  version?: string;
}

export function probeSandbox(settings: { bwrap: string; uid: number; gid: number }): SandboxProbe {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const v = spawnSync(settings.bwrap, ['--version'], { encoding: 'utf8', env });
  if (v.error || v.status !== 0)
    return { ok: false, reason: 'bubblewrap not installed (install the Debian package "bubblewrap")' };
  const version = v.stdout.trim();
  for (const tool of ['setpriv', 'prlimit']) {
    const t = spawnSync(tool, ['--version'], { encoding: 'utf8', env });
    if (t.error) return { ok: false, version, reason: `${tool} not installed (Debian package util-linux)` };
  }
  if (process.getuid?.() !== 0)
    return { ok: false, version, reason: 'the process tier requires root (cgroups and setpriv)' };
  const probe = spawnSync(
    'setpriv',
    [
      `--reuid=${settings.uid}`,
      `--regid=${settings.gid}`,
      '--clear-groups',
      '--',
      settings.bwrap,
      '--unshare-user',
      '--unshare-pid',
      '--unshare-net',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--proc',
      '/proc',
      '--',
      '/usr/bin/true',
    ],
    { encoding: 'utf8', env, timeout: 5000 },
  );
  if (probe.status !== 0)
    return {
      ok: false,
      version,
      reason: `bubblewrap cannot create namespaces as uid ${settings.uid}: ${(probe.stderr || probe.error?.message || '').trim()}`,
    };
  return { ok: true, version };
}

/** Can the worker open a listener inside a sandbox's network namespace (the egress proxy's way in)? */
export function probeEgress(settings: { nsenter: string }): { ok: boolean; reason?: string } {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const v = spawnSync(settings.nsenter, ['--version'], { encoding: 'utf8', env });
  if (v.error || v.status !== 0)
    return { ok: false, reason: `${settings.nsenter} not installed (Debian package util-linux): no egress proxy` };
  return { ok: true };
}
