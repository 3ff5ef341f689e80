/**
 * A sign of life while a request takes long (a deploy that compiles JS to a component: seconds).
 * On a terminal: a spinner line redrawn in place and erased at the end. Otherwise (a pipe, CI
 * logs): a plain line once the wait passes `after`, then one every `every`. Always on stderr,
 * so `--json` output on stdout stays clean.
 */

export interface Progress {
  /** Stop and erase the spinner (plain lines stay). */
  done(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Silence before the first plain line (default 1.5 s); the spinner starts after 200 ms. */
  after?: number;
  every?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function progress(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const timers: NodeJS.Timeout[] = [];
  let drawn = false;
  if (stream.isTTY) {
    let frame = 0;
    const draw = () => {
      drawn = true;
      stream.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} ${label} (${seconds(elapsed())})`);
    };
    timers.push(
      setTimeout(() => {
        draw();
        timers.push(setInterval(draw, 100));
      }, 200),
    );
  } else {
    const every = options.every ?? 5000;
    timers.push(
      setTimeout(() => {
        stream.write(`${label}…\n`);
        timers.push(setInterval(() => stream.write(`still ${label} (${seconds(elapsed())})\n`), every));
      }, options.after ?? 1500),
    );
  }
  return {
    done() {
      for (const t of timers) clearTimeout(t);
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
