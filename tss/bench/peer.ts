/**
 * The audited Rust→WASM peer (`@silencelaboratories/dkls-wasm-ll-node` 1.1.2, DKLs23; PROTOCOL.md
 * §10) run the way `run.ts` runs ours: every party in one thread, messages passed in memory, so the
 * bench prints same-run ratios. Bench only (a devDependency; nothing in `src/` imports it).
 *
 * Message routing follows the package README's `dkg_inner`; bytes are payload bytes delivered, a
 * broadcast counted once per recipient (as PROTOCOL.md §7 counts both implementations).
 */
import { KeygenSession, type Keyshare, type Message } from '@silencelaboratories/dkls-wasm-ll-node';

export interface PeerKeygen {
  /** All parties, one thread, wall clock. */
  ms: number;
  /** The largest time one party spent in its own calls. */
  criticalPathMs: number;
  bytes: number;
  shareBytes: number;
}

/** Run one keygen (or, given old shares, one key rotation = refresh) of the peer. */
function runPeer(make: (i: number) => KeygenSession, n: number): { result: PeerKeygen; shares: Keyshare[] } {
  const partyMs = new Array<number>(n).fill(0);
  let bytes = 0;
  const timed = <T>(i: number, f: () => T): T => {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      partyMs[i]! += performance.now() - t0;
    }
  };
  const count = (msgs: Message[], broadcast: boolean): void => {
    for (const m of msgs) bytes += m.payload.length * (broadcast ? n - 1 : 1);
  };
  const others = (msgs: Message[], pid: number) =>
    msgs.filter((m) => m.from_id !== pid).map((m) => m.clone());
  const mine = (msgs: Message[], pid: number) => msgs.filter((m) => m.to_id === pid).map((m) => m.clone());
  const freeAll = (msgs: Message[]) => {
    for (const m of msgs) m.free();
  };

  const t0 = performance.now();
  const parties = Array.from({ length: n }, (_, i) => timed(i, () => make(i)));
  const msg1 = parties.map((p, i) => timed(i, () => p.createFirstMessage()));
  count(msg1, true);
  const msg2 = parties.flatMap((p, i) => timed(i, () => p.handleMessages(others(msg1, i))));
  count(msg2, false);
  const commitments = parties.map((p, i) => timed(i, () => p.calculateChainCodeCommitment()));
  bytes += commitments.reduce((s, c) => s + c.length * (n - 1), 0);
  const msg3 = parties.flatMap((p, i) => timed(i, () => p.handleMessages(mine(msg2, i))));
  count(msg3, false);
  const msg4 = parties.flatMap((p, i) => timed(i, () => p.handleMessages(mine(msg3, i), commitments)));
  count(msg4, true);
  parties.forEach((p, i) => {
    timed(i, () => p.handleMessages(others(msg4, i)));
  });
  const shares = parties.map((p, i) => timed(i, () => p.keyshare()));
  const ms = performance.now() - t0;
  freeAll(msg1);
  freeAll(msg2);
  freeAll(msg3);
  freeAll(msg4);
  const shareBytes = Math.max(...shares.map((s) => s.toBytes().length));
  return { result: { ms, criticalPathMs: Math.max(...partyMs), bytes, shareBytes }, shares };
}

/** Keygen of `threshold`-of-`n` with every party in this thread. */
export function peerKeygen(n: number, threshold: number): PeerKeygen {
  const { result, shares } = runPeer((i) => new KeygenSession(n, threshold, i), n);
  for (const s of shares) s.free();
  return result;
}

/**
 * Key rotation (the peer's refresh: a full DKG with each constant term fixed to the old share,
 * fresh base OTs for every pair) after a keygen; only the rotation is timed.
 */
export function peerRefresh(n: number, threshold: number): PeerKeygen {
  const { shares: old } = runPeer((i) => new KeygenSession(n, threshold, i), n);
  const { result, shares } = runPeer((i) => KeygenSession.initKeyRotation(old[i]!), n);
  shares.forEach((s, i) => {
    s.finishKeyRotation(old[i]!);
  });
  for (const s of shares) s.free();
  return result;
}
