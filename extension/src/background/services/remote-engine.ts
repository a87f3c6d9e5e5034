/**
 * The service worker's end of a DKG or reshare party that runs in the offscreen document's Worker
 * (offscreen/ceremony-host.ts): an `AsyncRoundEngine` whose every method is one call over a
 * `CryptoTransport` (crypto-host.ts sends them with `chrome.runtime` messaging; the unit tests use an
 * in-process relay). The ceremony's seconds of CPU then never block the service worker's message
 * loop, which keeps the bridge connection, persistence and progress.
 *
 * - Calls are serialised per session (a promise queue), each with a fresh id and a timeout.
 * - Each reply carries a snapshot (`progress`, `finished`, `abortError`) that the getters return.
 * - A failure reply is rethrown as `RemoteEngineError` with the `TssError` public fields only.
 * - When the session can no longer be reached (timeout, no document, worker died, session unknown)
 *   the engine reports an abort with code `INTERRUPTED`: its round state is gone or unreachable,
 *   exactly as after a service-worker restart, and the members start over.
 * - `RemoteDkgEngine.output` returns `keyShare.encode()` (the caller seals it, then zeroes it) and the
 *   decoded descriptor, after checking that the two belong together and to this party.
 * - `RemoteReshareEngine.output` returns the reshare's public record and, for a new party, the
 *   pending share decoded (checked against the new descriptor and this party). It carries no
 *   certificate signature: the Worker never holds the identity key, the caller signs.
 *
 * `localDkgParty` gives an in-process `DkgSession` the same read side, so the ceremony service
 * treats both alike (unit tests under Node have no offscreen document).
 */

import type { Progress, ProtocolMessage } from '@concord/tss';
import {
  DKG_ROUNDS,
  type DkgSession,
  decodeDescriptor,
  encodeDescriptor,
  isTssError,
  KeyShare,
  type VaultDescriptor,
} from '@concord/tss';
import { equalBytes } from '@concord/tss/bytes';
import { RESHARE_ROUNDS } from '@concord/tss/reshare';
import { fromBase64url, toBase64url } from '@concord/tss/transport';
import {
  type CryptoCall,
  type CryptoOp,
  type CryptoReply,
  type EngineFailure,
  type EngineSnapshot,
  fromWire,
  toWire,
  type WireDkgOutput,
  type WireReshareOutput,
} from '../../offscreen/protocol.ts';
import { zeroize } from '../../shared/bytes.ts';
import type { AsyncRoundEngine, EngineAbort } from './ceremony-runner.ts';

/** Default per-call timeout: a DKG round is seconds of CPU; this also covers starting the document. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/** Carries one call to wherever the sessions live and resolves with its raw (unvalidated) reply. */
export interface CryptoTransport {
  call(call: CryptoCall): Promise<unknown>;
  /** The proxy of `session` is done with it (after its `dispose` call, whatever its outcome). */
  release(session: string): void;
}

/** What the ceremony service needs of a finished DKG. `keyShare` is secret: zero it after sealing. */
export interface DkgOutput {
  keyShare: Uint8Array;
  descriptor: VaultDescriptor;
}

/** The read side of a DKG party, in process or remote. */
export type DkgParty = Pick<AsyncRoundEngine<DkgOutput>, 'progress' | 'finished' | 'abortError' | 'output'>;

export interface DkgParams {
  parties: readonly { id: Uint8Array; power: number }[];
  threshold: number;
  selfId: Uint8Array;
}

/** A reshare party's parameters; the Worker always runs it with `deferSignature`. */
export interface ReshareParams {
  oldDescriptor: VaultDescriptor;
  /**
   * This device's old point shares (`scalarToBytes` of `KeyShare.shares`, in point order), only for
   * an old party: all that dealing needs. Secret: the engine zeroes these arrays once they have been
   * sent (or the engine is disposed unopened).
   */
  oldPointShares?: readonly Uint8Array[];
  oldParties: readonly Uint8Array[];
  newParties: readonly { id: Uint8Array; power: number }[];
  newThreshold: number;
  selfId: Uint8Array;
}

/**
 * A finished reshare without the certificate signature (the caller signs). `pending` is this new
 * party's share for the next epoch (secret: the caller seals and destroys it); undefined for a
 * dealer that leaves.
 */
export interface RemoteReshareOutput {
  descriptor: VaultDescriptor;
  record: { sessionId: Uint8Array; transcript: Uint8Array };
  pending: KeyShare | undefined;
}

/** A refusal or abort reported by the Worker, or the loss of the Worker itself. */
export class RemoteEngineError extends Error {
  override readonly name = 'RemoteEngineError';
  readonly code: string;
  readonly culprits: readonly string[];

  constructor(f: EngineAbort) {
    super(f.message);
    this.code = f.code;
    this.culprits = Object.freeze([...f.culprits]);
  }
}

/** The stable code of an engine error, in process (`TssError`) or remote. */
export function engineErrorCode(e: unknown): string | undefined {
  if (isTssError(e) || e instanceof RemoteEngineError) return e.code;
  return undefined;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

function isFailure(x: unknown): x is EngineFailure {
  return (
    isObject(x) &&
    typeof x.code === 'string' &&
    typeof x.message === 'string' &&
    Array.isArray(x.culprits) &&
    x.culprits.every((c) => typeof c === 'string')
  );
}

function isSnapshot(x: unknown): x is EngineSnapshot {
  if (!isObject(x) || !isObject(x.progress) || typeof x.finished !== 'boolean') return false;
  const p = x.progress;
  return (
    ['round', 'rounds', 'received', 'expected'].every((k) => Number.isInteger(p[k])) &&
    ['idle', 'running', 'done', 'aborted'].includes(p.state as string) &&
    (x.abortError === null || isFailure(x.abortError))
  );
}

function isDkgOutput(x: unknown): x is WireDkgOutput {
  return isObject(x) && typeof x.keyShare === 'string' && typeof x.descriptor === 'string';
}

function isReshareOutput(x: unknown): x is WireReshareOutput {
  return (
    isObject(x) &&
    typeof x.descriptor === 'string' &&
    (x.pending === null || typeof x.pending === 'string') &&
    typeof x.sessionId === 'string' &&
    typeof x.transcript === 'string'
  );
}

/** Shape check of a reply: the document is ours, but a wrong shape must fail closed, not throw later. */
function isReply(x: unknown, id: string, isOutput: (o: unknown) => boolean): x is CryptoReply {
  if (!isObject(x) || x.id !== id || typeof x.ok !== 'boolean') return false;
  if (x.snapshot !== null && !isSnapshot(x.snapshot)) return false;
  if (x.ok) {
    return (
      (x.messages === undefined ||
        (Array.isArray(x.messages) &&
          x.messages.every(
            (m) =>
              isObject(m) &&
              typeof m.from === 'string' &&
              (m.to === null || typeof m.to === 'string') &&
              Number.isInteger(m.round) &&
              typeof m.payload === 'string',
          ))) &&
      (x.output === undefined || isOutput(x.output))
    );
  }
  return isFailure(x.error);
}

type OkReply = Extract<CryptoReply, { ok: true }>;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('call timed out')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface RemoteEngineOptions {
  /** Session id in the Worker; random by default. */
  session?: string;
  timeoutMs?: number;
}

/**
 * The proxy mechanics shared by both kinds of session: the call queue, timeouts, snapshots and the
 * INTERRUPTED rule. A subclass says how to open its session and how to read its output.
 */
abstract class RemoteEngine<Out> implements AsyncRoundEngine<Out> {
  readonly session: string;
  private readonly timeoutMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private snap: EngineSnapshot;
  /** Set once the session cannot be reached any more; reported as the abort. */
  private lost: EngineAbort | undefined;
  private opened = false;
  private disposed = false;

  constructor(
    private readonly transport: CryptoTransport,
    rounds: number,
    peers: number,
    opts: RemoteEngineOptions,
  ) {
    this.session = opts.session ?? globalThis.crypto.randomUUID();
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    // What a fresh session reports, until the first reply says otherwise.
    this.snap = {
      progress: { round: 1, rounds, received: 0, expected: peers, state: 'idle' },
      finished: false,
      abortError: null,
    };
  }

  /** The open call of this kind of session. */
  protected abstract openOp(): Extract<CryptoOp, { op: 'dkg.open' | 'reshare.open' }>;
  /** Shape check of this kind's output (a wrong shape is a malformed reply). */
  protected abstract isOutput(o: unknown): boolean;
  /** Decodes and checks this kind's output; throws `RemoteEngineError` if it does not fit. */
  protected abstract readOutput(o: unknown): Out;
  /** The engine was disposed without ever opening its session. */
  protected onDisposedUnopened(): void {}

  get progress(): Progress {
    return this.snap.progress;
  }

  get finished(): boolean {
    return this.snap.finished;
  }

  get abortError(): EngineAbort | undefined {
    return this.snap.abortError ?? this.lost;
  }

  /** Opens the session in the Worker (lazily: an unstarted engine holds nothing there), runs round 1. */
  async start(): Promise<ProtocolMessage[]> {
    await this.request('open');
    const r = await this.request({ op: 'start' });
    return (r.messages ?? []).map(fromWire);
  }

  async receive(m: ProtocolMessage): Promise<ProtocolMessage[]> {
    const r = await this.request({ op: 'receive', message: toWire(m) });
    return (r.messages ?? []).map(fromWire);
  }

  async output(): Promise<Out> {
    const r = await this.request({ op: 'output' });
    if (r.output === undefined) throw this.fail('INTERNAL', 'the worker returned no output');
    return this.readOutput(r.output);
  }

  /** Frees the session in the Worker (after any call in flight) and tells the transport. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.opened) {
      // The open may still be queued: it will refuse (disposed) and never send the parameters.
      this.onDisposedUnopened();
      return;
    }
    this.request({ op: 'dispose' })
      .catch(() => undefined)
      .finally(() => this.transport.release(this.session));
  }

  protected fail(code: string, message: string): RemoteEngineError {
    return new RemoteEngineError({ code, message, culprits: [] });
  }

  /**
   * Queues one call; resolves with an `ok` reply, rejects with a `RemoteEngineError`. The open call
   * is built only when its turn comes, so secret parameters are encoded (and then wiped) only if
   * they are really sent.
   */
  private request(what: CryptoOp | 'open'): Promise<OkReply> {
    const run = async (): Promise<OkReply> => {
      const isDispose = what !== 'open' && what.op === 'dispose';
      // A lost session may still be alive in the Worker (a slow reply): a dispose is still worth sending.
      if (this.lost !== undefined && !isDispose) throw new RemoteEngineError(this.lost);
      if (this.disposed && !isDispose) throw this.fail('SESSION_STATE', 'the session was disposed');
      const op = what === 'open' ? this.openOp() : what;
      if (what === 'open') this.opened = true;
      this.seq += 1;
      const id = `${this.session}:${this.seq}`;
      let raw: unknown;
      try {
        raw = await withTimeout(this.transport.call({ ...op, id, session: this.session }), this.timeoutMs);
      } catch {
        throw this.lose('the ceremony worker did not answer');
      }
      if (!isReply(raw, id, (o) => this.isOutput(o)))
        throw this.lose('the ceremony worker sent a malformed reply');
      if (raw.snapshot !== null) this.snap = raw.snapshot;
      if (raw.ok) return raw;
      // No snapshot: the session does not exist (any more) in the Worker. A failed open says why
      // (bad parameters); anything else means its state is gone.
      if (raw.snapshot === null && !isDispose) {
        if (what === 'open') this.lost = raw.error;
        else throw this.lose(raw.error.message);
      }
      throw new RemoteEngineError(raw.error);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private lose(message: string): RemoteEngineError {
    this.lost ??= { code: 'INTERRUPTED', message, culprits: [] };
    return new RemoteEngineError(this.lost);
  }
}

export class RemoteDkgEngine extends RemoteEngine<DkgOutput> {
  constructor(
    transport: CryptoTransport,
    private readonly params: DkgParams,
    opts: RemoteEngineOptions = {},
  ) {
    super(transport, DKG_ROUNDS, params.parties.length - 1, opts);
  }

  protected openOp(): Extract<CryptoOp, { op: 'dkg.open' }> {
    return {
      op: 'dkg.open',
      parties: this.params.parties.map((p) => ({ id: toBase64url(p.id), power: p.power })),
      threshold: this.params.threshold,
      selfId: toBase64url(this.params.selfId),
    };
  }

  protected isOutput(o: unknown): boolean {
    return isDkgOutput(o);
  }

  protected readOutput(o: unknown): DkgOutput {
    const out = o as WireDkgOutput;
    const keyShare = fromBase64url(out.keyShare, 'key share');
    try {
      const descriptorBytes = fromBase64url(out.descriptor, 'descriptor');
      const descriptor = decodeDescriptor(descriptorBytes);
      // The share must parse, verify against its own descriptor, be this party's, and come with the
      // descriptor we are about to store: a confused worker must not leave a vault we cannot sign for.
      const parsed = KeyShare.decode(keyShare);
      const matches =
        equalBytes(encodeDescriptor(parsed.descriptor), descriptorBytes) &&
        equalBytes(parsed.selfId, this.params.selfId);
      parsed.destroy();
      if (!matches) throw this.fail('INTERNAL', 'the worker returned a share for another vault or party');
      return { keyShare, descriptor };
    } catch (e) {
      zeroize(keyShare);
      throw e;
    }
  }
}

export class RemoteReshareEngine extends RemoteEngine<RemoteReshareOutput> {
  private readonly isNew: boolean;

  constructor(
    transport: CryptoTransport,
    private readonly params: ReshareParams,
    opts: RemoteEngineOptions = {},
  ) {
    // Peers: every other participant (old parties ∪ new parties), as the tss session counts them.
    const self = toBase64url(params.selfId);
    const everyone = new Set([
      ...params.oldParties.map((id) => toBase64url(id)),
      ...params.newParties.map((p) => toBase64url(p.id)),
    ]);
    super(transport, RESHARE_ROUNDS, everyone.size - (everyone.has(self) ? 1 : 0), opts);
    this.isNew = params.newParties.some((p) => equalBytes(p.id, params.selfId));
  }

  protected openOp(): Extract<CryptoOp, { op: 'reshare.open' }> {
    const p = this.params;
    const old = p.oldPointShares;
    const op: Extract<CryptoOp, { op: 'reshare.open' }> = {
      op: 'reshare.open',
      oldDescriptor: toBase64url(encodeDescriptor(p.oldDescriptor)),
      ...(old === undefined ? {} : { oldPointShares: old.map((b) => toBase64url(b)) }),
      oldParties: p.oldParties.map((id) => toBase64url(id)),
      newParties: p.newParties.map((n) => ({ id: toBase64url(n.id), power: n.power })),
      newThreshold: p.newThreshold,
      selfId: toBase64url(p.selfId),
      deferSignature: true,
    };
    // The base64 strings are the copy that travels (and cannot be wiped); the bytes go now.
    if (old !== undefined) zeroize(...old);
    return op;
  }

  protected override onDisposedUnopened(): void {
    if (this.params.oldPointShares !== undefined) zeroize(...this.params.oldPointShares);
  }

  protected isOutput(o: unknown): boolean {
    return isReshareOutput(o);
  }

  protected readOutput(o: unknown): RemoteReshareOutput {
    const out = o as WireReshareOutput;
    const descriptorBytes = fromBase64url(out.descriptor, 'descriptor');
    const descriptor = decodeDescriptor(descriptorBytes);
    const record = {
      sessionId: fromBase64url(out.sessionId, 'session id'),
      transcript: fromBase64url(out.transcript, 'transcript'),
    };
    // Same vault, next epoch; a pending share exactly when this device is in the new committee.
    const old = this.params.oldDescriptor;
    if (!equalBytes(descriptor.vaultId, old.vaultId) || descriptor.epoch !== old.epoch + 1) {
      throw this.fail('INTERNAL', 'the worker returned a descriptor of another vault or epoch');
    }
    if ((out.pending !== null) !== this.isNew) {
      throw this.fail('INTERNAL', 'the worker returned a pending share for the wrong role');
    }
    if (out.pending === null) return { descriptor, record, pending: undefined };
    const secret = fromBase64url(out.pending, 'pending share');
    let pending: KeyShare;
    try {
      pending = KeyShare.decode(secret); // verifies every own share against the new descriptor
    } finally {
      zeroize(secret);
    }
    const matches =
      equalBytes(encodeDescriptor(pending.descriptor), descriptorBytes) &&
      equalBytes(pending.selfId, this.params.selfId);
    if (!matches) {
      pending.destroy();
      throw this.fail('INTERNAL', 'the worker returned a share for another vault or party');
    }
    return { descriptor, record, pending };
  }
}

/** The in-process `DkgSession` behind the same read side as `RemoteDkgEngine`. */
export function localDkgParty(dkg: DkgSession): DkgParty {
  return {
    get progress() {
      return dkg.progress;
    },
    get finished() {
      return dkg.finished;
    },
    get abortError() {
      return dkg.abortError;
    },
    async output() {
      const { keyShare, descriptor } = dkg.output();
      const secret = keyShare.encode();
      // The encoding is all the caller keeps; the object's copies of the secrets go now.
      keyShare.destroy();
      return { keyShare: secret, descriptor };
    },
  };
}
