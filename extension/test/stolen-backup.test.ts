/**
 * What a stolen device backup gives against a later refresh, at the service level: three whole
 * backgrounds over a real in-process bridge create a [1,1,1] t = 2 vault, B exports its device
 * backup, then the vault is refreshed. Every envelope the relay stored is recorded (a tap on the
 * bridge's mailbox store: exactly the ciphertext an operator or an attacker with the relay's disk
 * keeps). The thief then opens the pre-refresh backup with its passphrase and tries to open the
 * refresh's protocol messages to B with B's identity keys from it — and fails — while the same keys
 * do open the session's static control messages (so the recording and the keys are the real ones).
 */

import type { PutInput, RunningBridge } from '@concord/bridge-server/relay';
import { startBridge } from '@concord/bridge-server/relay';
import { unwrapInvitation } from '@concord/bridge-server/vault/proposal';
import { TssError } from '@concord/tss';
import { toHex } from '@concord/tss/bytes';
import {
  decodeDeviceIdentity,
  decodeEnvelope,
  deriveEnvelopeKey,
  EnvelopeSession,
  fromBase64url,
  parseDeviceCode,
  toBase64url,
} from '@concord/tss/transport';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDeviceIdentity, parseDeviceBackup } from '../src/background/services/device-backup.ts';
import type { RequestView } from '../src/shared/messages.ts';
import { type Device, device, dkgDone, until } from './devices.ts';
import { GOOD_PASSPHRASE, TEST_BACKUP_KDF } from './helpers.ts';

/** The envelope in a stored message (the session's first message wraps it with the sender's identity). */
const envelopeOf = (ct: string): Uint8Array => {
  const b = fromBase64url(ct, 'ct');
  return b[0] === 0x45 ? b : unwrapInvitation(b).envelope;
};

const BACKUP_PASSPHRASE = 'granite harbor whistle marmalade 4412';
const extra = { backupKdf: TEST_BACKUP_KDF, fallbackMs: 500 };

describe('a refresh makes a stolen pre-refresh device backup useless for the refresh traffic', () => {
  let bridge: RunningBridge;
  let A: Device;
  let B: Device;
  let C: Device;
  const stored: PutInput[] = [];

  beforeAll(async () => {
    bridge = await startBridge({ port: 0, store: 'memory', logLevel: 'silent', defaultMetrics: false });
    // Record every message the relay persists (single puts and group commits).
    const store = bridge.store;
    const put = store.put.bind(store);
    const putMany = store.putMany.bind(store);
    store.put = (input, limits) => {
      stored.push(input);
      return put(input, limits);
    };
    store.putMany = (inputs, limits) => {
      stored.push(...inputs);
      return putMany(inputs, limits);
    };
    const base = bridge.url.replace(/\/v1$/, '');
    [A, B, C] = await Promise.all([device(base, extra), device(base, extra), device(base, extra)]);
  }, 60_000);

  afterAll(async () => {
    for (const d of [A, B, C]) d?.bg.bridge.stop();
    await bridge?.close();
  });

  const phase = (d: Device, id: string, want: RequestView['phase']) =>
    until(
      async () => {
        const r = (await d.call({ type: 'request.list' })).find((x) => x.id === id);
        if (r?.phase === 'failed') throw new Error(`request failed: ${r.error ?? ''}`);
        return r?.phase === want ? r : undefined;
      },
      180_000,
      `phase ${want}`,
    );

  it('the refresh share messages stay closed to the old backup; every member sealed to B’s fresh run key', async () => {
    const p = await A.call({
      type: 'vault.propose',
      name: 'Ops',
      selfLabel: 'A',
      selfPower: 1,
      threshold: 2,
      invitees: [
        { code: B.info.deviceCode, label: 'B', power: 1 },
        { code: C.info.deviceCode, label: 'C', power: 1 },
      ],
    });
    for (const d of [B, C]) {
      await until(
        async () => (await d.call({ type: 'ceremony.list' })).find((c) => c.id === p.id),
        15_000,
        'invite',
      );
      await d.call({ type: 'ceremony.respond', id: p.id, accept: true });
    }
    await dkgDone([A, B, C], p.id, 180_000);
    const vaultId = p.id;

    // B's backup before the refresh: this is what gets stolen, with its passphrase.
    const file = await B.call({
      type: 'backup.export',
      vaultId,
      walletPassphrase: GOOD_PASSPHRASE,
      passphrase: BACKUP_PASSPHRASE,
    });

    const vault = (await A.call({ type: 'vault.list' })).find((v) => v.id === vaultId)!;
    const mark = stored.length;
    const r = await A.call({
      type: 'reshare.propose',
      vaultId,
      threshold: vault.threshold,
      keep: vault.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power })),
      add: [],
    });
    await until(
      async () => (await B.call({ type: 'request.list' })).find((x) => x.id === r.id),
      15_000,
      'req',
    );
    await B.call({ type: 'request.decide', id: r.id, approve: true });
    await Promise.all([A, B, C].map((d) => phase(d, r.id, 'done')));

    // The thief opens the stolen file exactly as a restore would.
    const stolen = decodeDeviceIdentity(
      await openDeviceIdentity(parseDeviceBackup(file.text), BACKUP_PASSPHRASE, {
        N: TEST_BACKUP_KDF.scrypt.N,
        r: TEST_BACKUP_KDF.scrypt.r,
        p: TEST_BACKUP_KDF.scrypt.p,
      }),
    );
    const bId = toBase64url(stolen.deviceId);
    expect(toHex(stolen.deviceId)).toBe(B.info.deviceId);
    const members = [A, B, C].map((d) => parseDeviceCode(d.info.deviceCode));
    const refreshSid = stored.slice(mark).find((m) => /^reshare\d+\/r\d+$/.test(m.tag))!.sid;
    const ofRefresh = stored.filter((m) => m.sid === refreshSid);
    const toB = ofRefresh.filter((m) => m.recipient === bId);
    const shareMsgs = toB.filter((m) => /^reshare\d+\/r\d+$/.test(m.tag));
    const control = toB.filter((m) => !m.tag.includes('/'));
    // The recording holds the refresh's protocol messages from both other members, and control ones.
    expect(new Set(shareMsgs.map((m) => m.sender)).size).toBe(2);
    expect(control.length).toBeGreaterThan(0);

    // A fresh session per message: the relay stores a resent message again (same msgId), which
    // one session's replay guard would refuse before the key question is even asked.
    const thiefOpen = (ct: string) => {
      const thief = new EnvelopeSession({ identity: stolen, sid: refreshSid, peers: members });
      try {
        return thief.open(envelopeOf(ct));
      } finally {
        thief.destroy();
      }
    };
    // Positive control: the stolen static key opens the session's control messages (no secrets).
    for (const m of control) expect(thiefOpen(m.ct).plaintext.length).toBeGreaterThan(0);
    // The share messages: refused through the API…
    for (const m of shareMsgs) {
      let code = 'opened';
      try {
        thiefOpen(m.ct);
      } catch (e) {
        code = e instanceof TssError ? e.code : String(e);
      }
      expect(code).toBe('HANDSHAKE_REQUIRED');
    }
    // …and by hand: the key a static secret can derive (v1's construction, ss ‖ es) does not decrypt.
    const byId = new Map(members.map((m) => [toBase64url(m.deviceId), m]));
    for (const m of shareMsgs) {
      const env = decodeEnvelope(envelopeOf(m.ct));
      expect(env.header.mode).toBe('ephemeral');
      const sender = byId.get(m.sender)!;
      const key = deriveEnvelopeKey({
        mode: 'static',
        sid: refreshSid,
        from: sender.deviceId,
        to: stolen.deviceId,
        ephemeral: env.header.ephemeral,
        peerEphemeral: null,
        shared: [stolen.agree(sender.agreementKey), stolen.agree(env.header.ephemeral)],
      });
      expect(() => xchacha20poly1305(key, env.nonce, env.headerBytes).decrypt(env.ciphertext)).toThrow();
    }

    // Every member sealed B's share messages to B's announced key of that run — never to B's static
    // key, and a different key for every run (the DKG's and each reshare attempt's).
    const announcedByB = new Map<string, string>(); // context → B's ephemeral (hex of base64url)
    for (const m of stored.filter((x) => x.sender === bId && x.tag.endsWith('/hs'))) {
      const h = decodeEnvelope(envelopeOf(m.ct)).header;
      const k = `${m.sid}|${h.tag.slice(0, -3)}`;
      const prior = announcedByB.get(k);
      expect(prior === undefined || prior === toBase64url(h.ephemeral)).toBe(true);
      announcedByB.set(k, toBase64url(h.ephemeral));
    }
    expect(new Set(announcedByB.values()).size).toBe(announcedByB.size);
    expect([...announcedByB.values()]).not.toContain(toBase64url(stolen.agreementKey));
    for (const m of shareMsgs) {
      const h = decodeEnvelope(envelopeOf(m.ct)).header;
      expect(toBase64url(h.peerEphemeral!)).toBe(announcedByB.get(`${refreshSid}|${h.tag.split('/')[0]}`));
    }
    stolen.destroy();
  }, 420_000);
});
