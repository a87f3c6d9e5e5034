/**
 * The page's side of the Worker protocol (`protocol.ts`): numbered requests, one promise each. The
 * Worker is bundled into the page and started from a blob URL (Vite's `?worker&inline`), so the
 * single HTML file needs no second file and no network; `terminate()` drops every secret it held.
 */
import { recoveryErrorText } from '@concord/tss/recovery';
import type { Replies, ReplyMessage, Request } from './protocol.ts';
import RecoveryWorker from './worker.ts?worker&inline';

/** A request the Worker refused; `message` is the library's own wording (the CLI prints the same). */
export class WorkerRefusal extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'WorkerRefusal';
    this.code = code;
  }
}

/** The text to show for an error from the Worker (already in the library's words) or from the page. */
export function errorText(e: unknown): string {
  return e instanceof WorkerRefusal ? e.message : recoveryErrorText(e);
}

export class WorkerClient {
  readonly #worker: Worker;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.#worker = new RecoveryWorker({ name: 'concord-recovery' });
    this.#worker.onmessage = (ev: MessageEvent<ReplyMessage>) => {
      const reply = ev.data;
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new WorkerRefusal(reply.message, reply.code));
    };
    this.#worker.onerror = (ev) => {
      ev.preventDefault();
      this.#failAll(
        new WorkerRefusal(`the recovery worker stopped: ${ev.message || 'unknown error'}`, undefined),
      );
    };
  }

  call<K extends Request['op']>(req: Extract<Request, { op: K }>): Promise<Replies[K]> {
    const id = this.#next++;
    return new Promise<Replies[K]>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...req, id });
    });
  }

  #failAll(e: Error): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  terminate(): void {
    this.#worker.terminate();
    this.#failAll(new WorkerRefusal('cleared', 'CLEARED'));
  }
}
