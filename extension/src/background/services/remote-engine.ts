/**
 * The service worker's end of a DKG party that runs in the offscreen document's Worker
 * (offscreen/ceremony-host.ts): an `AsyncRoundEngine` whose every method is one call over a
 * `CryptoTransport` (crypto-host.ts sends them with `chrome.runtime` messaging; the unit tests use an
 * in-process relay). The DKG's seconds of CPU then never block the service worker's message loop,
 * which keeps the bridge connection, persistence and progress.
 *
 * - Calls are serialised per session (a promise queue), each with a fresh id and a timeout.
 * - Each reply carries a snapshot (`progress`, `finished`, `abortError`) that the getters return.
 * - A failure reply is rethrown as `RemoteEngineError` with the `TssError` public fields only.
 * - When the session can no longer be reached (timeout, no document, worker died, session unknown)
 *   the engine reports an abort with code `INTERRUPTED`: its round state is gone or unreachable,
 *   exactly as after a service-worker restart, and the members start over.
 * - `output` returns `keyShare.encode()` (the caller seals it, then zeroes it) and the decoded
 *   descriptor, after checking that the two belong together and to this party.
 *
 * `localDkgParty` gives an in-process `DkgSession` the same read side, so the ceremony service
 * treats both alike (unit tests under Node have no offscreen document).
 */
import { equalBytes } from '../../../../tss/src/bytes.ts';
import { decodeDescriptor, encodeDescriptor, type VaultDescriptor } from '../../../../tss/src/descriptor.ts';
import { DKG_ROUNDS, type DkgSession } from '../../../../tss/src/dkg/session.ts';
import { isTssError } from '../../../../tss/src/errors.ts';
import { KeyShare } from '../../../../tss/src/keyshare.ts';
import type { Progress, ProtocolMessage } from '../../../../tss/src/session/engine.ts';
import { fromBase64url, toBase64url } from '../../../../tss/src/transport/base64url.ts';
import {
  type CryptoCall,
  type CryptoOp,
  type CryptoReply,
  type EngineFailure,
  type EngineSnapshot,
  fromWire,
  toWire,
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

/** Shape check of a reply: the document is ours, but a wrong shape must fail closed, not throw later. */
function isReply(x: unknown, id: string): x is CryptoReply {
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
      (x.output === undefined ||
        (isObject(x.output) &&
          typeof x.output.keyShare === 'string' &&
          typeof x.output.descriptor === 'string'))
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

export class RemoteDkgEngine implements AsyncRoundEngine<DkgOutput> {
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
    private readonly params: DkgParams,
    opts: RemoteEngineOptions = {},
  ) {
    this.session = opts.session ?? globalThis.crypto.randomUUID();
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    // What a fresh DkgSession reports, until the first reply says otherwise.
    this.snap = {
      progress: {
        round: 1,
        rounds: DKG_ROUNDS,
        received: 0,
        expected: params.parties.length - 1,
        state: 'idle',
      },
      finished: false,
      abortError: null,
    };
  }

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
    await this.request({
      op: 'dkg.open',
      parties: this.params.parties.map((p) => ({ id: toBase64url(p.id), power: p.power })),
      threshold: this.params.threshold,
      selfId: toBase64url(this.params.selfId),
    });
    const r = await this.request({ op: 'start' });
    return (r.messages ?? []).map(fromWire);
  }

  async receive(m: ProtocolMessage): Promise<ProtocolMessage[]> {
    const r = await this.request({ op: 'receive', message: toWire(m) });
    return (r.messages ?? []).map(fromWire);
  }

  async output(): Promise<DkgOutput> {
    const r = await this.request({ op: 'output' });
    if (r.output === undefined) throw this.fail('INTERNAL', 'the worker returned no output');
    const keyShare = fromBase64url(r.output.keyShare, 'key share');
    try {
      const descriptorBytes = fromBase64url(r.output.descriptor, 'descriptor');
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

  /** Frees the session in the Worker (after any call in flight) and tells the transport. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.opened) return;
    this.request({ op: 'dispose' })
      .catch(() => undefined)
      .finally(() => this.transport.release(this.session));
  }

  private fail(code: string, message: string): RemoteEngineError {
    return new RemoteEngineError({ code, message, culprits: [] });
  }

  /** Queues one call; resolves with an `ok` reply, rejects with a `RemoteEngineError`. */
  private request(op: CryptoOp): Promise<OkReply> {
    const run = async (): Promise<OkReply> => {
      const isDispose = op.op === 'dispose';
      // A lost session may still be alive in the Worker (a slow reply): a dispose is still worth sending.
      if (this.lost !== undefined && !isDispose) throw new RemoteEngineError(this.lost);
      if (this.disposed && !isDispose) throw this.fail('SESSION_STATE', 'the session was disposed');
      if (op.op === 'dkg.open') this.opened = true;
      this.seq += 1;
      const id = `${this.session}:${this.seq}`;
      let raw: unknown;
      try {
        raw = await withTimeout(this.transport.call({ ...op, id, session: this.session }), this.timeoutMs);
      } catch {
        throw this.lose('the ceremony worker did not answer');
      }
      if (!isReply(raw, id)) throw this.lose('the ceremony worker sent a malformed reply');
      if (raw.snapshot !== null) this.snap = raw.snapshot;
      if (raw.ok) return raw;
      // No snapshot: the session does not exist (any more) in the Worker. A failed open says why
      // (bad parameters); anything else means its state is gone.
      if (raw.snapshot === null && !isDispose) {
        if (op.op === 'dkg.open') this.lost = raw.error;
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
