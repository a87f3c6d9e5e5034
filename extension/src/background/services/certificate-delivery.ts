/**
 * Gets a reshare's certificate signatures to every new member, however late it comes back (PROTOCOL
 * reshare phase 2; THREATS A24 "all honest parties end in the same state"; tss certificate.ts: a
 * certificate is transferable and must be forwarded). The request's own bridge session carries the
 * signatures first (`q.certificate`), but it dies with the request (24 h, the relay's cap): a new
 * member offline until then kept its pending share pending and its *old* share active while the
 * others had moved on.
 *
 * Why a re-announce on (re)connect rather than a persisted outbox of sends: what must be delivered
 * is already persisted (the ceremony record's signatures, confirmations and the finished session's
 * record), and the one moment that matters is when the late device comes back — which only that
 * device sees. So both sides announce their status (certificate-status.ts) whenever their bridge
 * client (re)authenticates, each time in a *fresh* bridge session (the request's may be gone):
 *  - a device still waiting (finished session, no complete certificate) sends its status to every
 *    other participant; anyone who activated answers in that session with every signature it holds;
 *  - a device that activated sends its status to every new member that has not confirmed yet;
 *  - on activating, a device tells every other participant (its confirmation, which also completes
 *    the certificate of anyone still missing signatures);
 *  - a device that activated answers every status that is not itself an answer (so a holder that
 *    missed a confirmation gets it, and nobody loops).
 * A relayed signature is verified against this device's own finished session before it is stored
 * (reshare.ts), and a confirmation counts only from the authenticated device itself. Announcing
 * stops once every new member confirmed, or `DELIVERY_HORIZON_MS` after the request expired (a
 * device gone that long is restored from a backup, which a refresh brings back).
 */
import type { BridgeClient, DeliveredMessage } from '@concord/bridge-server/client';
import { decodeRequest, type ReshareBody, type VaultRequest } from '@concord/bridge-server/vault';
import {
  announceTargets,
  CERT_STATUS_TAG,
  type CertSignature,
  type CertStatus,
  decodeCertStatus,
  encodeCertStatus,
  isAnswer,
  shouldAnswer,
  statusMsgId,
} from '@concord/bridge-server/vault/certificate-status';
import { openInvitation, wrapInvitation } from '@concord/bridge-server/vault/proposal';
import { isTssError } from '@concord/tss';
import { equalBytes, fromHex } from '@concord/tss/bytes';
import { EnvelopeSession, toBase64url } from '@concord/tss/transport';
import { toHex } from '../../shared/bytes.ts';
import type { CeremonyRecord } from '../../storage/records.ts';
import type { Repositories } from '../../storage/repositories/index.ts';
import type { Platform } from '../platform.ts';
import { type EnvelopeKeyring, openWithAny } from './envelope-keys.ts';
import type { DeviceIdentity, PublicDeviceIdentity } from './identity-api.ts';
import { publicIdentity } from './identity-api.ts';

/** Life of a delivery session and its messages: the relay's maximum, so a late device finds them. */
export const DELIVERY_TTL_MS = 24 * 60 * 60_000;
/** How long after the request's expiry a device keeps announcing (see the header). */
export const DELIVERY_HORIZON_MS = 30 * 24 * 60 * 60_000;

export interface CertificateDeliveryDeps {
  repos: Repositories;
  platform: Platform;
  /**
   * Verifies relayed signatures against this device's finished session, stores the good ones and
   * activates if the certificate is complete (RequestService → ReshareRunner, in its queue).
   */
  merge: (requestId: string, attempt: number, sigs: readonly CertSignature[]) => Promise<void>;
  /**
   * This device's envelope identities (envelope-keys.ts). Delivery runs under the keys the request
   * lists — a member that missed the certificate still holds only those — so this device keeps its
   * listed (previous) key until every new member confirmed, then `pruneKeys` wipes it.
   */
  envelopeKeys?: EnvelopeKeyring;
  pruneKeys?: () => Promise<void>;
  log?: (code: string, e: unknown) => void;
}

/** The facts of one finished reshare session that delivery needs. */
interface Finished {
  request: VaultRequest & { body: ReshareBody };
  ceremony: CeremonyRecord & { reshare: NonNullable<CeremonyRecord['reshare']> };
}

export class CertificateDelivery {
  private client: BridgeClient | null = null;
  private identity: DeviceIdentity | null = null;
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly d: CertificateDeliveryDeps) {}

  private log(code: string, e: unknown): void {
    this.d.log?.(code, e);
  }

  attach(client: BridgeClient, identity: DeviceIdentity): void {
    this.detachAll();
    this.client = client;
    this.identity = identity;
    this.unsubscribe = [
      client.on('message', (m) => {
        if (m.tag !== CERT_STATUS_TAG) return;
        this.onStatus(m).catch((e: unknown) => this.log('CERT_STATUS', e));
      }),
      client.on('state', (s) => {
        if (s === 'ready') this.announce().catch((e: unknown) => this.log('CERT_ANNOUNCE', e));
      }),
    ];
    if (client.state === 'ready') this.announce().catch((e: unknown) => this.log('CERT_ANNOUNCE', e));
  }

  detach(client: BridgeClient): void {
    if (this.client === client) this.detachAll();
  }

  private detachAll(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    this.client = null;
    this.identity = null;
  }

  /** This device just activated the new epoch of `requestId`: tell every other participant. */
  async activated(requestId: string): Promise<void> {
    const f = await this.finished(requestId);
    if (f === undefined || this.identity === null) return;
    const self = toHex(this.identity.deviceId);
    await this.sendStatus(
      f,
      (f.ceremony.signers ?? []).filter((id) => id !== self),
    );
  }

  /** Sends this device's status of every finished reshare that still needs delivery (see the header). */
  async announce(): Promise<void> {
    const identity = this.identity;
    if (identity === null) return;
    const self = toHex(identity.deviceId);
    const rows = await this.d.repos.db.ceremonies.where('kind').equals('reshare').toArray();
    const now = this.d.platform.now();
    for (const c of rows) {
      if (c.reshare === undefined || c.status === 'aborted') continue;
      try {
        const f = await this.finished(c.id);
        if (f === undefined || now > f.request.expiresAt + DELIVERY_HORIZON_MS) continue;
        const targets = announceTargets(deliveryState(f, self));
        if (targets.length > 0) await this.sendStatus(f, targets);
      } catch (e) {
        this.log('CERT_ANNOUNCE', e);
      }
    }
  }

  /** A status from another participant: merge its signatures, note its confirmation, answer it. */
  private async onStatus(msg: DeliveredMessage): Promise<void> {
    const identity = this.identity;
    if (identity === null) return;
    let opened: ReturnType<typeof openInvitation>;
    try {
      opened = openWithAny(this.d.envelopeKeys?.all() ?? [identity], (id) =>
        openInvitation(id, msg, CERT_STATUS_TAG, 'certificate status'),
      );
    } catch (e) {
      // Sealed to a key this device no longer holds: keys are wiped only once every new member
      // confirmed, so such a status (a late duplicate of a confirmation already counted) carries
      // nothing to act on; an unopenable forgery is dropped the same way. Not an error worth a log.
      if (isTssError(e) && e.code === 'DECRYPT_FAILED') return;
      throw e;
    }
    const { sender, plaintext } = opened;
    const status = decodeCertStatus(plaintext);
    const f = await this.finished(status.request);
    if (f === undefined) return; // not a reshare this device finished: nothing to check against
    const from = toHex(sender.deviceId);
    // The sender must be a participant of this attempt, with the identity the request lists.
    const listed = partiesOf(f.request).get(from);
    if (listed === undefined || !equalBytes(listed.agreementKey, sender.agreementKey)) {
      throw new Error('certificate status from a device outside the request');
    }
    if (!(f.ceremony.signers ?? []).includes(from))
      throw new Error('certificate status from a non-participant');
    if (status.attempt !== f.ceremony.reshare.attempt) return; // another attempt's session: not ours
    if (f.ceremony.status !== 'done' && status.sigs.length > 0) {
      await this.d.merge(status.request, status.attempt, status.sigs);
    }
    const confirming = status.activated && f.request.body.members.some((m) => m.deviceId === from);
    if (confirming) await this.confirm(status.request, from);
    const after = await this.finished(status.request);
    if (after !== undefined && shouldAnswer(after.ceremony.status === 'done', isAnswer(msg.msgId))) {
      await this.sendStatus(after, [from], msg.sid);
    }
    // Only after answering: this confirmation can be the last one, after which the key the request
    // lists for this device is wiped, and an answer under any other key is refused by the asker.
    if (confirming) await this.d.pruneKeys?.().catch((e: unknown) => this.log('ENVELOPE_KEYS', e));
  }

  /** Records `from`'s confirmation that it activated (persisted: announcing stops for it). */
  private async confirm(requestId: string, from: string): Promise<void> {
    const db = this.d.repos.db;
    await db.transaction('rw', db.ceremonies, async () => {
      const c = await db.ceremonies.get(requestId);
      if (c === undefined || (c.certConfirmed ?? []).includes(from)) return;
      await db.ceremonies.put({ ...c, certConfirmed: [...(c.certConfirmed ?? []), from].sort() });
    });
  }

  /** The request and ceremony record of a reshare whose session finished on this device. */
  private async finished(requestId: string): Promise<Finished | undefined> {
    const c = await this.d.repos.ceremonies.get(requestId);
    if (c?.kind !== 'reshare' || c.reshare === undefined) return undefined;
    const row = await this.d.repos.proposals.get(requestId);
    if (row === undefined || row.kind !== 'reshare') return undefined;
    const request = decodeRequest(row.payload);
    if (request.body.kind !== 'reshare') return undefined;
    return {
      request: request as Finished['request'],
      ceremony: c as Finished['ceremony'],
    };
  }

  /**
   * Sends this device's status for `f` to `targets`: in `sid` (an answer in the asker's session) or
   * in a new bridge session of this device and the targets.
   */
  private async sendStatus(f: Finished, targets: readonly string[], sid?: string): Promise<void> {
    const client = this.client;
    const base = this.identity;
    if (client === null || base === null || targets.length === 0) return;
    const parties = partiesOf(f.request);
    // Under the key the request lists for this device: what the targets check the sender against.
    const identity = this.d.envelopeKeys?.identityFor(parties.get(toHex(base.deviceId))) ?? base;
    const peers = targets
      .map((t) => parties.get(t))
      .filter((p): p is PublicDeviceIdentity => p !== undefined);
    if (peers.length === 0) return;
    const attempt = f.ceremony.reshare.attempt;
    const status: CertStatus = {
      request: f.request.id,
      attempt,
      activated: f.ceremony.status === 'done',
      sigs: signaturesOf(f.ceremony, attempt),
    };
    const use =
      sid ??
      (
        await client.createSession(
          'reshare',
          [identity.deviceId, ...peers.map((p) => p.deviceId)].map((id) => toBase64url(id)),
          DELIVERY_TTL_MS,
        )
      ).sid;
    const self = publicIdentity(identity);
    const plaintext = encodeCertStatus(status);
    const env = new EnvelopeSession({ identity, sid: use, peers, rng: this.d.platform.rng });
    try {
      for (const p of peers) {
        const to = toBase64url(p.deviceId);
        const msgId = statusMsgId(sid === undefined ? 'ask' : 'ans', attempt, to);
        const envelope = env.seal(
          { to: p.deviceId, tag: CERT_STATUS_TAG, msgId, ttl: DELIVERY_TTL_MS },
          plaintext,
        );
        client
          .send({
            sid: use,
            to,
            tag: CERT_STATUS_TAG,
            msgId,
            envelope: wrapInvitation(self, envelope),
            ttlMs: DELIVERY_TTL_MS,
          })
          .catch((e: unknown) => this.log('CERT_SEND', e));
      }
    } finally {
      env.destroy();
    }
  }
}

/** Every party of a reshare request by hex id: the new committee and the current one. */
function partiesOf(r: VaultRequest & { body: ReshareBody }): Map<string, PublicDeviceIdentity> {
  const out = new Map<string, PublicDeviceIdentity>();
  for (const m of [...r.body.current, ...r.body.members]) out.set(m.deviceId, m.identity);
  return out;
}

/** The stored certificate signatures of `attempt` (verified by every receiver before use). */
function signaturesOf(c: CeremonyRecord, attempt: number): CertSignature[] {
  const out: CertSignature[] = [];
  for (const [key, sig] of Object.entries(c.certSigs ?? {})) {
    const [a, from] = key.split(':');
    if (Number(a) === attempt && from !== undefined) out.push({ from, sig: fromHex(sig) });
  }
  return out;
}

function deliveryState(f: Finished, self: string) {
  const activated = f.ceremony.status === 'done';
  return {
    self,
    participants: f.ceremony.signers ?? [],
    newMembers: f.request.body.members.map((m) => m.deviceId),
    confirmed: [...(f.ceremony.certConfirmed ?? []), ...(activated ? [self] : [])],
    activated,
  };
}
