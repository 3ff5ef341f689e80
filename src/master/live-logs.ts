/** Live output of running tasks, a bounded tail per task (best effort, in memory). */
const LIVE_LOG_CHARS = 64 * 1024;

export class LiveLogs {
  readonly #tails = new Map<string, string>();

  append(taskId: string, data: Buffer): void {
    const text = (this.#tails.get(taskId) ?? '') + data.toString('utf8');
    this.#tails.set(taskId, text.length > LIVE_LOG_CHARS ? text.slice(-LIVE_LOG_CHARS) : text);
  }

  get(taskId: string): string | undefined {
    return this.#tails.get(taskId);
  }

  delete(taskId: string): void {
    this.#tails.delete(taskId);
  }
}
