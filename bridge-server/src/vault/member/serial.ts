/**
 * Runs async jobs one at a time in arrival order: a member's store reads and writes for one event
 * must not interleave with another's (two decisions must not both start a ceremony). A failing job
 * is reported and does not stop the queue.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly onError: (e: unknown) => void) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch((e: unknown) => this.onError(e));
    return next;
  }
}
