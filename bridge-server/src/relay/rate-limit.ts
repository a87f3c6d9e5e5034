/**
 * Token buckets (BRIDGE.md §16): per client IP before auth, per device key after. Buckets live
 * only in memory; IPs are never logged or persisted (BRIDGE.md §20).
 */
import type { RateSpec } from './config.ts';

export interface BucketState {
  tokens: number;
  /** Time of the last refill (ms). */
  last: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly spec: RateSpec,
    now: number,
  ) {
    this.tokens = spec.burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(
        this.spec.burst,
        this.tokens + ((now - this.last) / 1000) * this.spec.ratePerSec,
      );
      this.last = now;
    }
  }

  /** Take `cost` tokens; returns 0 if granted, else the milliseconds until it would be. */
  take(now: number, cost = 1): number {
    this.refill(now);
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - this.tokens) / this.spec.ratePerSec) * 1000);
  }

  /**
   * Take `cost` tokens unconditionally, for work already done (the bucket may go negative: the
   * debt is paid back before the next frame is admitted).
   */
  charge(now: number, cost: number): void {
    this.refill(now);
    this.tokens -= cost;
  }

  /** The bucket's state, to hand it to another node (cluster.ts). */
  export(): BucketState {
    return { tokens: this.tokens, last: this.last };
  }

  restore(st: BucketState): void {
    this.tokens = Math.min(this.spec.burst, Math.max(0, st.tokens));
    this.last = st.last;
  }

  /** True when the bucket is full again (safe to forget). */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.spec.burst;
  }
}

/** A map of buckets by key with periodic pruning of full (idle) buckets, so memory stays bounded. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(private readonly spec: RateSpec) {}

  take(key: string, now: number, cost = 1): number {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = new TokenBucket(this.spec, now);
      this.buckets.set(key, b);
    }
    return b.take(now, cost);
  }

  charge(key: string, now: number, cost: number): void {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = new TokenBucket(this.spec, now);
      this.buckets.set(key, b);
    }
    b.charge(now, cost);
  }

  /** A key's bucket state (undefined if it has none: full). */
  export(key: string): BucketState | undefined {
    return this.buckets.get(key)?.export();
  }

  /** Continue a bucket from a state exported elsewhere (the device's previous node). */
  import(key: string, st: BucketState): void {
    const b = new TokenBucket(this.spec, st.last);
    b.restore(st);
    this.buckets.set(key, b);
  }

  prune(now: number): void {
    for (const [k, b] of this.buckets) if (b.full(now)) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }
}
