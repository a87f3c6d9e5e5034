/**
 * One state change at a time: a vault member's ceremony and request services (the extension's, the
 * headless member's) read-modify-write the same rows (decisions, starts, completions), and two
 * messages landing together must not both act. Each task runs after the previous one settles; a
 * failed task is logged and does not stop the queue.
 *
 * A task must never await another `run` of the same queue (it would wait for itself).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly onError: (e: unknown) => void) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(this.onError);
    return next;
  }
}
