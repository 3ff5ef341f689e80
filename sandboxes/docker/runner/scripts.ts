/**
 * Scripts in a warm script container: each invocation starts the interpreter as the sandbox user
 * (procs.ts), in its own process group and a fresh work directory, with the input on stdin;
 * stdout is the result (capped), stderr the logs. When it ends, everything it left behind is
 * killed and its work directory removed before the container takes the next invocation.
 */
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { asSandboxUser, killStragglers, SANDBOX_GID, SANDBOX_UID } from './procs.ts';
import type { RunMessage, RunnerResult } from './protocol.ts';

export type LogSink = (stream: 'stdout' | 'stderr', text: string) => void;

const INTERPRETERS: Record<string, string> = {
  bash: '/bin/bash',
  sh: '/bin/sh',
  python3: '/usr/bin/python3',
  node: process.execPath,
};
const EXTENSIONS: Record<string, string> = { bash: 'sh', sh: 'sh', python3: 'py', node: 'mjs' };
/** Root-owned, so user code can read its script but never change it (or plant another). */
export const SCRIPTS_DIR = '/tmp/strata-scripts';
const scripts = new Map<string, string>();

export function prepareScriptsDir(): void {
  mkdirSync(SCRIPTS_DIR, { recursive: true, mode: 0o755 });
}

function scriptPath(message: RunMessage): string {
  const cached = scripts.get(message.digest);
  if (cached) return cached;
  if (message.source === undefined) throw new Error('runner protocol: source missing for an unseen digest');
  const safe = message.digest.replace(/[^A-Za-z0-9]/g, '').slice(0, 64);
  const path = `${SCRIPTS_DIR}/${safe}.${EXTENSIONS[message.interpreter ?? 'sh'] ?? 'txt'}`;
  writeFileSync(path, message.source, { mode: 0o444 });
  scripts.set(message.digest, path);
  return path;
}

export function runScript(message: RunMessage, onLog: LogSink): Promise<RunnerResult> {
  const interpreter = INTERPRETERS[message.interpreter ?? ''];
  if (!interpreter) throw new Error(`unknown interpreter ${JSON.stringify(message.interpreter)}`);
  const path = scriptPath(message);
  const cwd = `/tmp/work-${message.id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 80)}`;
  rmSync(cwd, { recursive: true, force: true });
  mkdirSync(cwd, { mode: 0o700 });
  chownSync(cwd, SANDBOX_UID, SANDBOX_GID);
  const id = message.id;
  const { file, args } = asSandboxUser(interpreter, [path]);
  return new Promise((resolve) => {
    // Its own process group, so the whole tree (background jobs too) can be killed at once.
    const child = spawn(file, args, {
      cwd,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8', ...message.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > message.maxResultBytes) {
        tooLarge = true;
        killGroup();
        child.stdout.destroy();
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => onLog('stderr', text));
    child.stdin.on('error', () => {});
    child.stdin.end(message.input);
    const settle = (result: RunnerResult) => {
      if (settled) return;
      settled = true;
      killGroup();
      killStragglers();
      try {
        rmSync(cwd, { recursive: true, force: true });
      } catch {
        // the next invocation's directory has another name
      }
      resolve(result);
    };
    const conclude = () => {
      const code = exit?.code ?? null;
      const signal = exit?.signal ?? null;
      if (tooLarge) {
        settle({
          t: 'result',
          id,
          ok: false,
          code: 'result_too_large',
          message: `the script printed more than ${message.maxResultBytes} bytes on stdout`,
        });
      } else if (code === 0) {
        settle({ t: 'result', id, ok: true, text: Buffer.concat(chunks).toString('utf8') });
      } else {
        settle({
          t: 'result',
          id,
          ok: false,
          code: 'function_error',
          message: signal ? `the script was killed by ${signal}` : `the script exited with code ${code}`,
          ...(code !== null ? { exitCode: code } : {}),
          ...(signal ? { signal } : {}),
        });
      }
    };
    child.on('error', (error) =>
      settle({ t: 'result', id, ok: false, code: 'function_error', message: error.message }),
    );
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Background jobs may hold stdout open: give the pipes a moment, then kill them so the
      // pipes close ('close' concludes with everything read); a last resort if even that stalls.
      setTimeout(() => {
        if (settled) return;
        killGroup();
        killStragglers();
        setTimeout(conclude, 2000).unref();
      }, 200).unref();
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      conclude();
    });
  });
}
