/**
 * What a stolen device backup gives against a later refresh, at the service level: three whole
 * backgrounds over a real in-process bridge create a [1,1,1] t = 2 vault, B exports its device
 * backup, then the vault is refreshed. Every envelope the relay stored is recorded (a tap on the
 * bridge's mailbox store: exactly the ciphertext an operator or an attacker with the relay's disk
 * keeps). The thief then opens the pre-refresh backup with its passphrase and tries to open the
 * refresh's protocol messages to B with B's identity keys from it — and fails — while the same keys
 * do open the session's static control messages (so the recording and the keys are the real ones).
 *
 * Envelope-key rotation: the refresh's certificate bound a new envelope key for B, which every
 * member records; in a later request every control message to B opens with B's new key (from a
 * backup exported afterwards) and with the stolen key none does; after that request's own refresh,
 * B's previous rotated key is wiped once every member confirmed.
 */

import type { PutInput, RunningBridge } from '@concord/bridge-server/relay';
import { startBridge } from '@concord/bridge-server/relay';
import { unwrapInvitation } from '@concord/bridge-server/vault/proposal';
import { TssError } from '@concord/tss';
import { toHex } from '@concord/tss/bytes';
import {
  decodeDeviceIdentity,
  decodeEnvelope,
  decodePublicIdentity,
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

  it('the refresh share messages stay closed to the old backup; B’s envelope key rotates for every member', async () => {
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

    // Envelope-key rotation: the refresh's certificate bound a new envelope key for B, and every
    // member (B included) now lists that key for B — not the one in the stolen backup.
    const listedForB = async (d: Device) => {
      const v = (await d.db.vaults.get(vaultId))!;
      const m = v.members.find((x) => x.deviceId === B.info.deviceId)!;
      return toHex(decodePublicIdentity(m.publicIdentity).agreementKey);
    };
    const rotated = await listedForB(A);
    expect(rotated).not.toBe(toHex(stolen.agreementKey));
    expect(await listedForB(B)).toBe(rotated);
    expect(await listedForB(C)).toBe(rotated);
    expect((await B.db.envelopeKeys.toArray()).map((k) => k.id)).toEqual([rotated]);

    // A later request (a second refresh): every member seals its control messages to B under the
    // new key. The stolen backup's key opens none of them; B's new key (from a backup exported
    // now, which carries it) opens every one. Its share messages stay closed to both static keys.
    const fresh = decodeDeviceIdentity(
      await openDeviceIdentity(
        parseDeviceBackup(
          (
            await B.call({
              type: 'backup.export',
              vaultId,
              walletPassphrase: GOOD_PASSPHRASE,
              passphrase: BACKUP_PASSPHRASE,
            })
          ).text,
        ),
        BACKUP_PASSPHRASE,
        { N: TEST_BACKUP_KDF.scrypt.N, r: TEST_BACKUP_KDF.scrypt.r, p: TEST_BACKUP_KDF.scrypt.p },
      ),
    );
    expect(toHex(fresh.agreementKey)).toBe(rotated);
    // The senders' static keys as of the second refresh: their identities after the first one.
    const peersNow = (await A.db.vaults.get(vaultId))!.members.map((m) =>
      decodePublicIdentity(m.publicIdentity),
    );
    const mark2 = stored.length;
    const r2 = await A.call({
      type: 'reshare.propose',
      vaultId,
      threshold: vault.threshold,
      keep: vault.members.map((m) => ({ deviceId: m.deviceId, label: m.label, power: m.power })),
      add: [],
    });
    await until(
      async () => (await B.call({ type: 'request.list' })).find((x) => x.id === r2.id),
      15_000,
      'second request',
    );
    await B.call({ type: 'request.decide', id: r2.id, approve: true });
    await Promise.all([A, B, C].map((d) => phase(d, r2.id, 'done')));
    const laterSid = stored.slice(mark2).find((m) => /^reshare\d+\/r\d+$/.test(m.tag))!.sid;
    const laterToB = stored.filter((m) => m.sid === laterSid && m.recipient === bId);
    const laterControl = laterToB.filter((m) => !m.tag.includes('/'));
    // Both other members sent B control messages (the request, the start, certificate signatures).
    expect(new Set(laterControl.map((m) => m.sender))).toEqual(
      new Set([A, C].map((d) => toBase64url(parseDeviceCode(d.info.deviceCode).deviceId))),
    );
    const openAs = (identity: typeof stolen, ct: string): string => {
      const env = new EnvelopeSession({ identity, sid: laterSid, peers: peersNow });
      try {
        env.open(envelopeOf(ct));
        return 'opened';
      } catch (e) {
        return e instanceof TssError ? e.code : String(e);
      } finally {
        env.destroy();
      }
    };
    for (const m of laterControl) {
      expect(openAs(fresh, m.ct)).toBe('opened');
      expect(openAs(stolen, m.ct)).toBe('DECRYPT_FAILED');
    }
    for (const m of laterToB.filter((x) => /^reshare\d+\/r\d+$/.test(x.tag))) {
      expect(openAs(stolen, m.ct)).toBe('HANDSHAKE_REQUIRED');
      expect(openAs(fresh, m.ct)).toBe('HANDSHAKE_REQUIRED');
    }
    // The second refresh rotated again; once every member confirmed, B wiped the first rotated key.
    const rotated2 = await listedForB(A);
    expect(rotated2).not.toBe(rotated);
    await until(
      async () => {
        const held = (await B.db.envelopeKeys.toArray()).map((k) => k.id);
        return held.length === 1 && held[0] === rotated2 ? held : undefined;
      },
      60_000,
      'the previous envelope key wiped',
    );
    fresh.destroy();
    stolen.destroy();
  }, 600_000);
});
