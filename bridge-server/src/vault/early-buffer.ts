/**
 * Messages of a bridge session that arrive before this device has bound the session (a fast peer's
 * decision, or the mailbox catch-up after a worker restart), held until `take` replays them into the
 * session's channel. Bounded both ways, in sessions and in messages per session: the relay is
 * untrusted and must not be able to grow it without limit.
 */
import type { DeliveredMessage } from '../client/client.ts';

export class EarlyBuffer {
  private readonly held = new Map<string, DeliveredMessage[]>();

  constructor(
    private readonly maxSessions: number,
    private readonly maxPerSession: number,
  ) {}

  hold(msg: DeliveredMessage): void {
    const list = this.held.get(msg.sid);
    if (list === undefined) {
      if (this.held.size < this.maxSessions) this.held.set(msg.sid, [msg]);
    } else if (list.length < this.maxPerSession) list.push(msg);
  }

  /** The held messages of `sid`, in arrival order, removed from the buffer. */
  take(sid: string): DeliveredMessage[] {
    const list = this.held.get(sid) ?? [];
    this.held.delete(sid);
    return list;
  }

  clear(): void {
    this.held.clear();
  }
}
