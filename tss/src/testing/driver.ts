/**
 * In-memory drivers: run every party of a ceremony in one process, delivering messages through a
 * FIFO queue. Used by tests, benchmarks and the demo. An `intercept` hook lets adversarial tests
 * mutate, drop or duplicate any delivered copy (THREATS A harness: "malicious round" wrapper).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, toHex, utf8 } from '../bytes.ts';
import { type DkgResult, DkgSession } from '../dkg/session.ts';
import { TssError } from '../errors.ts';
import type { KeyShare } from '../keyshare.ts';
import type { PartySpec } from '../math/weighted.ts';
import type { RandomBytes } from '../random.ts';
import { CertificateCollector, type ReshareCertificate } from '../reshare/certificate.ts';
import { reshareMembers } from '../reshare/params.ts';
import type { ReshareOutcome } from '../reshare/rounds.ts';
import { ReshareSession } from '../reshare/session.ts';
import type { ProtocolMessage, RoundEngine } from '../session/engine.ts';
import type { Signature } from '../sign/rounds.ts';
import { SignSession } from '../sign/session.ts';
import { seededRandom } from './rng.ts';

export interface DeliveryStats {
  /** Payload bytes delivered, broadcasts counted once per recipient. */
  bytes: number;
  /**
   * Milliseconds each party spent in its own session calls, in input order. With parties on their
   * own devices, the ceremony's compute latency is about the largest of these.
   */
  partyMs: number[];
  messages: number;
  bytesByRound: Record<number, number>;
}

/** Return the copies to deliver instead of `msg` (none to drop it). */
export type Intercept = (msg: ProtocolMessage, recipient: Uint8Array) => ProtocolMessage[];

export interface Party<R> {
  readonly id: Uint8Array;
  readonly session: RoundEngine<R>;
}

export interface RunOutcome<R> {
  /** Per party, in input order: the result or the error that stopped it. */
  readonly outcomes: ({ ok: true; value: R } | { ok: false; error: TssError })[];
  readonly stats: DeliveryStats;
  /** Messages a running session refused without aborting. */
  readonly refusals: readonly { party: Uint8Array; error: TssError }[];
}

/** Deterministic 32-byte party ids for tests and benches. */
export function testPartyIds(n: number, label = 'party'): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => sha256(utf8(`${label}/${i}`)));
}

/** Run sessions to completion by delivering every message; never throws for protocol aborts. */
export function runSessions<R>(parties: readonly Party<R>[], intercept?: Intercept): RunOutcome<R> {
  const stats: DeliveryStats = { bytes: 0, messages: 0, bytesByRound: {}, partyMs: parties.map(() => 0) };
  const timed = <T>(i: number, f: () => T): T => {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      stats.partyMs[i]! += performance.now() - t0;
    }
  };
  const errors = new Map<string, TssError>();
  const queue: { to: Uint8Array; msg: ProtocolMessage }[] = [];
  const enqueue = (out: ProtocolMessage[]) => {
    for (const msg of out) {
      const targets =
        msg.to === null ? parties.filter((p) => !equalBytes(p.id, msg.from)).map((p) => p.id) : [msg.to];
      for (const to of targets) {
        for (const copy of intercept ? intercept(msg, to) : [msg]) queue.push({ to, msg: copy });
      }
    }
  };
  const refusals: { party: Uint8Array; error: TssError }[] = [];
  const fail = (p: Party<R>, e: unknown) => {
    const err = e instanceof TssError ? e : new TssError('SESSION_STATE', String(e), { cause: e });
    // A refused message (unknown sender, wrong round…) leaves the session running: note it, go on.
    if (p.session.progress.state === 'running') refusals.push({ party: p.id, error: err });
    else errors.set(toHex(p.id), err);
  };
  for (const [i, p] of parties.entries()) {
    try {
      enqueue(timed(i, () => p.session.start()));
    } catch (e) {
      fail(p, e);
    }
  }
  for (let i = 0; i < queue.length; i++) {
    const { to, msg } = queue[i]!;
    queue[i] = undefined as never; // let delivered payloads be collected
    const pi = parties.findIndex((q) => equalBytes(q.id, to));
    const p = parties[pi];
    if (!p || errors.has(toHex(p.id))) continue;
    stats.messages++;
    stats.bytes += msg.payload.length;
    stats.bytesByRound[msg.round] = (stats.bytesByRound[msg.round] ?? 0) + msg.payload.length;
    try {
      enqueue(timed(pi, () => p.session.receive(msg)));
    } catch (e) {
      fail(p, e);
    }
  }
  const outcomes = parties.map((p) => {
    const err = errors.get(toHex(p.id));
    if (err) return { ok: false as const, error: err };
    try {
      return { ok: true as const, value: p.session.output() };
    } catch (e) {
      return { ok: false as const, error: e as TssError };
    }
  });
  return { outcomes, stats, refusals };
}

export interface RunDkgOptions {
  readonly powers: readonly number[];
  readonly threshold: number;
  /** Party ids; defaults to `testPartyIds(powers.length)`. */
  readonly ids?: readonly Uint8Array[];
  /** Seed for every party's RNG (party i uses `${seed}/${i}`); defaults to the platform CSPRNG. */
  readonly seed?: string;
  readonly rngs?: readonly RandomBytes[];
  readonly intercept?: Intercept;
}

/** Run a whole weighted DKG in memory. */
export function runDkg(opts: RunDkgOptions): RunOutcome<DkgResult> & { ids: Uint8Array[] } {
  const ids = opts.ids ? [...opts.ids] : testPartyIds(opts.powers.length);
  const specs = ids.map((id, i) => ({ id, power: opts.powers[i]! }));
  const parties = ids.map((id, i) => ({
    id,
    session: new DkgSession({
      parties: specs,
      threshold: opts.threshold,
      selfId: id,
      rng: opts.rngs?.[i] ?? (opts.seed !== undefined ? seededRandom(`${opts.seed}/${i}`) : undefined),
    }),
  }));
  return { ...runSessions(parties, opts.intercept), ids };
}

/** Unwrap all outcomes or throw the first error. */
export function expectAllOk<R>(run: RunOutcome<R>): R[] {
  return run.outcomes.map((o) => {
    if (!o.ok) throw o.error;
    return o.value;
  });
}

export interface RunSignOptions {
  readonly keyShares: readonly KeyShare[];
  readonly digest: Uint8Array;
  /** Seed for each signer's RNG; defaults to the platform CSPRNG. */
  readonly seed?: string;
  readonly banned?: ReadonlySet<string>;
  readonly intercept?: Intercept;
}

/** Run a signing ceremony among the given parties' key shares, all in memory. */
export function runSign(opts: RunSignOptions): RunOutcome<Signature> {
  const signers = opts.keyShares.map((k) => k.selfId);
  const parties = opts.keyShares.map((keyShare, i) => ({
    id: keyShare.selfId,
    session: new SignSession({
      keyShare,
      signers,
      digest: opts.digest,
      banned: opts.banned,
      rng: opts.seed !== undefined ? seededRandom(`${opts.seed}/${i}`) : undefined,
    }),
  }));
  return runSessions(parties, opts.intercept);
}

/** A `DigestSigner` (see `tss/eth`) that signs in memory with the given key shares. */
export function inMemorySigner(
  keyShares: readonly KeyShare[],
  seed?: string,
): (digest: Uint8Array) => Signature {
  return (digest) => expectAllOk(runSign({ keyShares, digest, seed }))[0]!;
}

// ---------------------------------------------------------------------------------------------
// Reshare / refresh (reshare/*)

/** A deterministic Ed25519 identity secret for a test party id (never for production). */
export function testIdentitySecret(id: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8('concord/test/identity'), id));
}

/** Ed25519 public identity keys (by hex id) of test parties. */
export function testIdentityKeys(ids: readonly Uint8Array[]): Map<string, Uint8Array> {
  return new Map(ids.map((id) => [toHex(id), ed25519.getPublicKey(testIdentitySecret(id))]));
}

export interface RunReshareOptions {
  /** Active shares of the old parties taking part; their power must reach the old threshold. */
  readonly oldShares: readonly KeyShare[];
  readonly newParties: readonly PartySpec[];
  readonly newThreshold: number;
  /** Ed25519 identity secrets by hex id; defaults to `testIdentitySecret(id)`. */
  readonly identities?: ReadonlyMap<string, Uint8Array>;
  /** Seed for every member's RNG (member i uses `${seed}/${i}`); defaults to the platform CSPRNG. */
  readonly seed?: string;
  readonly intercept?: Intercept;
}

export interface ReshareRun extends RunOutcome<ReshareOutcome> {
  /** Session members (dealers ∪ new parties) in id order; `outcomes` follow this order. */
  readonly ids: Uint8Array[];
  /** Public identity keys of the new parties. */
  readonly identityKeys: Map<string, Uint8Array>;
  /** The complete certificate when every member finished (else undefined). */
  readonly certificate: ReshareCertificate | undefined;
}

/**
 * Run a whole reshare in memory: every dealer and new party, then (if all finished) assemble the
 * certificate from the new parties' signatures. Nothing is activated: that is the caller's step.
 */
export function runReshare(opts: RunReshareOptions): ReshareRun {
  const first = opts.oldShares[0];
  if (!first) throw new TssError('INVALID_PARAMETERS', 'at least one old share is required');
  const oldDescriptor = first.descriptor;
  const oldParties = opts.oldShares.map((k) => k.selfId);
  const { members } = reshareMembers({
    oldDescriptor,
    oldParties,
    newParties: opts.newParties,
    newThreshold: opts.newThreshold,
  });
  const secretOf = (id: Uint8Array) => opts.identities?.get(toHex(id)) ?? testIdentitySecret(id);
  const identityKeys = new Map(
    opts.newParties.map((p) => [toHex(p.id), ed25519.getPublicKey(secretOf(p.id))] as const),
  );
  const parties = members.map((m, i) => ({
    id: m.id,
    session: new ReshareSession({
      oldDescriptor,
      oldShare: opts.oldShares.find((k) => equalBytes(k.selfId, m.id)),
      oldParties,
      newParties: opts.newParties,
      newThreshold: opts.newThreshold,
      selfId: m.id,
      signer: m.next ? (msg: Uint8Array) => ed25519.sign(msg, secretOf(m.id)) : undefined,
      rng: opts.seed !== undefined ? seededRandom(`${opts.seed}/${i}`) : undefined,
    }),
  }));
  const run = runSessions(parties, opts.intercept);
  let certificate: ReshareCertificate | undefined;
  if (run.outcomes.every((o) => o.ok)) {
    const outs = run.outcomes.map((o) => (o as { value: ReshareOutcome }).value);
    const collector = new CertificateCollector(outs[0]!, identityKeys);
    outs.forEach((o, i) => {
      if (o.ownSignature) collector.add(members[i]!.id, o.ownSignature);
    });
    certificate = collector.certificate();
  }
  return { ...run, ids: members.map((m) => m.id), identityKeys, certificate };
}
