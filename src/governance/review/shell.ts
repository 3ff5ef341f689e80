/**
 * Shell review: `shellcheck` (Debian package) for bash/sh, plus rules over the script's commands
 * as a shell lexer sees them (words, quotes, pipelines, redirections; comments and quoted text are
 * not commands): download-and-execute (`curl … | sh`), `/dev/tcp` and `/dev/udp`, netcat and
 * friends, `base64 -d | sh`. Regular expressions over raw text would trip on comments and
 * strings; the lexer does not.
 */
import { execFile } from 'node:child_process';
import type { RawFinding } from './types.ts';

interface Word {
  text: string;
  line: number;
}
/** A simple command: its words, and what joins it to the next one. */
interface Command {
  words: Word[];
  /** The command after it reads its output (`|`). */
  pipesTo: boolean;
  /** Redirection targets (`> /dev/tcp/...`, `< file`). */
  redirects: Word[];
}

/** Split a script into simple commands (a small POSIX-shell lexer: quotes, escapes, comments, operators). */
export function lexShell(source: string): Command[] {
  const commands: Command[] = [];
  let current: Command = { words: [], pipesTo: false, redirects: [] };
  let word = '';
  let inWord = false;
  let wordLine = 1;
  let line = 1;
  let redirectNext = false;
  const endWord = () => {
    if (!inWord) return;
    const w = { text: word, line: wordLine };
    if (redirectNext) current.redirects.push(w);
    else current.words.push(w);
    redirectNext = false;
    word = '';
    inWord = false;
  };
  const endCommand = (pipes: boolean) => {
    endWord();
    current.pipesTo = pipes;
    if (current.words.length > 0 || current.redirects.length > 0) commands.push(current);
    current = { words: [], pipesTo: false, redirects: [] };
  };
  const start = () => {
    if (!inWord) {
      inWord = true;
      wordLine = line;
    }
  };
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === '\n') line++;
    if (ch === '\\' && i + 1 < source.length) {
      if (source[i + 1] === '\n') {
        line++;
        i++;
        continue;
      }
      start();
      word += source[++i];
      continue;
    }
    if (ch === "'") {
      start();
      const end = source.indexOf("'", i + 1);
      const text = source.slice(i + 1, end < 0 ? undefined : end);
      line += text.split('\n').length - 1;
      word += text;
      i = end < 0 ? source.length : end;
      continue;
    }
    if (ch === '"') {
      start();
      let j = i + 1;
      while (j < source.length && source[j] !== '"') {
        if (source[j] === '\\') j++;
        if (source[j] === '\n') line++;
        word += source[j] ?? '';
        j++;
      }
      i = j;
      continue;
    }
    if (ch === '#' && !inWord) {
      while (i + 1 < source.length && source[i + 1] !== '\n') i++;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      endWord();
      continue;
    }
    if (ch === '\n' || ch === ';' || ch === '&' || ch === '(' || ch === ')' || ch === '`') {
      // `&&`, `||` and `;` end a command; `$(`…`)` and backticks start a new one.
      if (ch === '&' && source[i + 1] === '>') {
        endWord();
        redirectNext = true;
        i++;
        continue;
      }
      if (ch === '(' && word.endsWith('$')) word = word.slice(0, -1);
      endCommand(false);
      continue;
    }
    if (ch === '|') {
      if (source[i + 1] === '|') {
        i++;
        endCommand(false);
      } else endCommand(true);
      continue;
    }
    if (ch === '>' || ch === '<') {
      // `2>`, `>>`, `<<<`: the next word is a target (fd digits before it belong to the operator).
      if (inWord && /^\d+$/.test(word)) {
        word = '';
        inWord = false;
      } else endWord();
      while (source[i + 1] === '>' || source[i + 1] === '<' || source[i + 1] === '&') i++;
      redirectNext = true;
      continue;
    }
    start();
    word += ch;
  }
  endCommand(false);
  return commands;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'python', 'python3', 'perl', 'node']);
const FETCHERS = new Set(['curl', 'wget', 'fetch']);
const WRAPPERS = new Set(['sudo', 'env', 'exec', 'command', 'nohup', 'time']);
const NETCAT = new Set(['nc', 'ncat', 'netcat', 'socat', 'telnet']);

const base = (w: Word | undefined) => (w ? (w.text.split('/').pop() ?? w.text) : '');
/** The program a command runs, past `sudo`, `env`, `exec`, assignments. */
function program(c: Command): Word | undefined {
  for (const w of c.words) {
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w.text)) continue;
    if (WRAPPERS.has(base(w))) continue;
    return w;
  }
  return undefined;
}

export function shellRules(source: string): RawFinding[] {
  const findings: RawFinding[] = [];
  const commands = lexShell(source);
  commands.forEach((c, i) => {
    const prog = program(c);
    const name = base(prog);
    const next = commands[i + 1];
    const nextName = c.pipesTo && next ? base(program(next)) : '';
    for (const w of [...c.words, ...c.redirects]) {
      if (/\/dev\/(tcp|udp)\//.test(w.text))
        findings.push({ rule: 'sh-dev-tcp', message: `opens a network socket through ${w.text}`, line: w.line });
    }
    if (NETCAT.has(name))
      findings.push({ rule: 'sh-netcat', message: `runs ${name}: raw network connections`, line: prog?.line ?? 1 });
    if (FETCHERS.has(name) && SHELLS.has(nextName))
      findings.push({
        rule: 'sh-download-exec',
        message: `downloads with ${name} and pipes it into ${nextName} (download and execute)`,
        line: prog?.line ?? 1,
      });
    if (name === 'base64' && c.words.some((w) => ['-d', '--decode', '-D'].includes(w.text)) && SHELLS.has(nextName))
      findings.push({
        rule: 'sh-base64-exec',
        message: `decodes base64 and pipes it into ${nextName} (hidden code)`,
        line: prog?.line ?? 1,
      });
    // `sh -c "$(curl …)"` and `eval "$(wget …)"`: a fetch inside the arguments of a shell or eval.
    const runsText = SHELLS.has(name) || name === 'eval' || name === 'source' || name === '.';
    const quoted = runsText ? c.words.find((w) => /(\$\(|`)\s*(curl|wget)\b/.test(w.text)) : undefined;
    if (quoted)
      findings.push({
        rule: 'sh-download-exec',
        message: `runs what it downloads (${name} ${quoted.text.slice(0, 60)})`,
        line: quoted.line,
      });
    else if (runsText && next && FETCHERS.has(base(program(next))) && !c.pipesTo) {
      const line = prog?.line ?? 1;
      if (next.words[0] && next.words[0].line === line)
        findings.push({ rule: 'sh-download-exec', message: `runs what ${base(program(next))} downloads`, line });
    }
  });
  return findings;
}

/** shellcheck's findings (JSON output); undefined when shellcheck is not installed. */
export function shellcheck(
  source: string,
  shell: 'bash' | 'sh',
  timeoutMs = 10_000,
): Promise<RawFinding[] | undefined> {
  return new Promise((resolve) => {
    const child = execFile(
      'shellcheck',
      ['--format=json', `--shell=${shell}`, '-'],
      { timeout: timeoutMs, maxBuffer: 4 * 1024 ** 2 },
      (err, stdout) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
        try {
          const items = JSON.parse(stdout || '[]') as { line: number; level: string; code: number; message: string }[];
          resolve(
            items.slice(0, 100).map((i) => ({
              rule: 'sh-shellcheck',
              message: `SC${i.code} (${i.level}): ${i.message}`,
              line: i.line,
            })),
          );
        } catch {
          resolve(undefined);
        }
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(source);
  });
}
