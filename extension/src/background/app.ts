/**
 * Composition root of the background: opens the database, builds the services over the platform
 * adapter and returns the router plus the alarm handler. No browser globals here, so the whole
 * background can be assembled in a unit test with a fake platform.
 */

import { decodeRequest, requestOfAlarm } from '@concord/bridge-server/vault';
import { decodePublicIdentity } from '@concord/tss/transport';
import { DEFAULT_KDF_POLICY, type KdfPolicy } from '../crypto/kdf.ts';
import { toHex } from '../shared/bytes.ts';
import { ExtensionError } from '../shared/errors.ts';
import type { ConcordDb } from '../storage/db.ts';
import { repositories } from '../storage/repositories/index.ts';
import { DappApprovals } from './dapp/approvals.ts';
import { DappService } from './dapp/methods.ts';
import { RpcForwarder } from './dapp/rpc-forward.ts';
import { DappSites } from './dapp/sites.ts';
import type { Platform } from './platform.ts';
import { createRouter, type Route } from './router.ts';
import { BackupService } from './services/backup.ts';
import { BridgeService } from './services/bridge.ts';
import { CeremonyService, type Unlocked } from './services/ceremonies.ts';
import { CertificateDelivery } from './services/certificate-delivery.ts';
import { ChainService } from './services/chain.ts';
import { ConnectionStatus } from './services/connection-status.ts';
import { describeSigning } from './services/describe-request.ts';
import { DeviceService } from './services/device.ts';
import { EnvelopeKeyring } from './services/envelope-keys.ts';
import { keysInUse, type ReshareUse } from './services/envelope-rotation.ts';
import { deviceFingerprint, parseDeviceCode } from './services/identity-api.ts';
import { RequestService } from './services/requests.ts';
import { ReshareRunner } from './services/reshare.ts';
import { prepareRestore, restoreView } from './services/restore.ts';
import { AUTO_LOCK_ALARM, KeySession } from './services/session.ts';
import { UnlockThrottle } from './services/throttle.ts';
import { TokenService } from './services/tokens.ts';
import { WalletService } from './services/wallet.ts';
import { viewHandlers } from './views.ts';

export interface BackgroundOptions {
  db: ConcordDb;
  platform: Platform;
  runtimeId: string;
  extensionOrigin: string;
  kdf?: KdfPolicy;
  logError?: (code: string, error: unknown) => void;
  /** See `CeremonyServiceDeps.dkgStallMs` (tests shorten it). */
  dkgStallMs?: number;
  /** See `RequestServiceDeps.fallbackMs` (tests shorten it). */
  fallbackMs?: number;
  /** See `RequestServiceDeps.stallMs` (tests shorten it). */
  requestStallMs?: number;
  /** TEST ONLY: fast scrypt for backup files (see BackupServiceDeps.kdf). */
  backupKdf?: ConstructorParameters<typeof BackupService>[0]['kdf'];
  /** Pushes the dApp provider state to the open pages of `origin` (or all); see dapp/port-host.ts. */
  dappNotify?: (origin?: string) => void;
}

export interface Background {
  route: Route;
  onAlarm(name: string): Promise<void>;
  wallet: WalletService;
  session: KeySession;
  ceremonies: CeremonyService;
  requests: RequestService;
  bridge: BridgeService;
  dapp: DappService;
  dappApprovals: DappApprovals;
}

export function createBackground(o: BackgroundOptions): Background {
  const repos = repositories(o.db);
  const session = new KeySession(o.platform);
  // Vault and share rows are checked and authenticated with the data key while unlocked.
  session.onKey((dek) => o.db.recordAuth.setKey(dek));
  session.onEnd(() => o.db.recordAuth.setKey(null));
  // After a worker restart, key the checks before the first read rather than on first use.
  void session.current().catch(() => undefined);
  const throttle = new UnlockThrottle(repos.meta, () => o.platform.now());
  const device = new DeviceService(repos.identity, o.platform.rng);
  const wallet = new WalletService({
    repos,
    platform: o.platform,
    session,
    throttle,
    device,
    kdf: o.kdf ?? DEFAULT_KDF_POLICY,
  });

  const log = o.logError ?? (() => {});
  /** Rotated envelope keys per vault (envelope-keys.ts), loaded with the identity while unlocked. */
  const envelopeKeys = new EnvelopeKeyring(o.db, o.platform.rng);
  session.onEnd(() => envelopeKeys.forget());

  /** Identity and DEK while unlocked; null otherwise (a stale session key is treated as locked). */
  const unlocked = async (): Promise<Unlocked | null> => {
    const s = await session.current();
    if (s === null) return null;
    try {
      const identity = await device.load(s.dek);
      await envelopeKeys.load(identity, s.dek);
      return { identity, dek: s.dek };
    } catch {
      return null;
    }
  };

  /** Wipes the envelope keys that no vault and no unfinished certificate delivery lists (A4). */
  const pruneEnvelopeKeys = async (): Promise<void> => {
    const u = await unlocked();
    if (u === null) return;
    const reshares = await o.db.ceremonies.where('kind').equals('reshare').toArray();
    const uses: ReshareUse[] = [];
    for (const c of reshares) {
      const row = await repos.proposals.get(c.id);
      if (row !== undefined) uses.push({ ceremony: c, request: decodeRequest(row.payload) });
    }
    const inUse = keysInUse(toHex(u.identity.deviceId), await o.db.vaults.toArray(), uses, o.platform.now());
    await envelopeKeys.prune(inUse);
  };

  let ceremonies: CeremonyService;
  let requests: RequestService;
  let certificates: CertificateDelivery;
  let connection: ConnectionStatus;
  const bridge = new BridgeService({
    WebSocket: o.platform.WebSocket,
    onClient: (client, identity) => {
      connection.watch(client);
      ceremonies.attach(client, identity);
      requests.attach(client, identity);
      // After the request service, so its restore is queued before any relayed signature.
      certificates.attach(client, identity);
    },
    onClientClosed: (client) => {
      connection.forget(client);
      ceremonies.detach(client);
      requests.detach(client);
      certificates.detach(client);
    },
  });
  const chain = new ChainService({
    settings: () => repos.settings.get(),
    ...(o.platform.fetch === undefined ? {} : { fetch: o.platform.fetch }),
  });
  const tokens = new TokenService({
    db: o.db,
    chain,
    vaultAddress: async (id) => {
      const v = await repos.vaults.get(id);
      if (v?.address == null) throw new ExtensionError('NOT_FOUND', 'No such vault on this device.');
      return v.address as `0x${string}`;
    },
    now: () => o.platform.now(),
  });
  connection = new ConnectionStatus({
    now: () => o.platform.now(),
    bridge: () => bridge.status(),
    chainCheck: (id) => chain.check(id),
    chainName: async (id) =>
      (await repos.settings.get()).chains.find((c) => c.chainId === id)?.name ?? `Chain ${id}`,
  });
  const backups = new BackupService({
    repos,
    unlocked,
    confirmPassphrase: (p) => wallet.confirmPassphrase(p),
    envelopeIdentity: (vault, base) => {
      const self = vault.members.find((m) => m.deviceId === toHex(base.deviceId));
      return (
        envelopeKeys.identityFor(
          self === undefined ? undefined : decodePublicIdentity(self.publicIdentity),
        ) ?? base
      );
    },
    rng: o.platform.rng,
    ...(o.backupKdf === undefined ? {} : { kdf: o.backupKdf }),
  });

  /** Makes sure the bridge client runs while unlocked (idempotent; called on status polls). */
  const online = async () => {
    const u = await unlocked();
    if (u === null || o.platform.WebSocket === undefined) return null;
    const settings = await repos.settings.get();
    return bridge.ensure(u.identity, settings.bridgeUrl);
  };

  const connect = async () => {
    const client = await online();
    if (client === null) throw new ExtensionError('UNAVAILABLE', 'The bridge is not available while locked.');
    await bridge.ready(client);
    return client;
  };
  ceremonies = new CeremonyService({
    repos,
    platform: o.platform,
    unlocked,
    connect,
    log,
    ...(o.dkgStallMs === undefined ? {} : { dkgStallMs: o.dkgStallMs }),
  });
  requests = new RequestService({
    repos,
    platform: o.platform,
    chain,
    unlocked,
    connect,
    attention: {
      ...(o.platform.badge === undefined ? {} : { badge: o.platform.badge }),
      ...(o.platform.notify === undefined ? {} : { notify: o.platform.notify }),
    },
    envelopeKeys,
    reshare: new ReshareRunner({
      repos,
      platform: o.platform,
      unlocked,
      keys: envelopeKeys,
      pruneKeys: pruneEnvelopeKeys,
      onActivated: (id) => {
        certificates.activated(id).catch((e: unknown) => log('CERT_ACTIVATED', e));
      },
      log,
    }),
    log,
    ...(o.fallbackMs === undefined ? {} : { fallbackMs: o.fallbackMs }),
    ...(o.requestStallMs === undefined ? {} : { stallMs: o.requestStallMs }),
  });
  certificates = new CertificateDelivery({
    repos,
    platform: o.platform,
    envelopeKeys,
    pruneKeys: pruneEnvelopeKeys,
    merge: (id, attempt, sigs) => requests.reshareCertificates(id, attempt, sigs),
    log,
  });
  // Locking forgets the identity key, so the client could not re-authenticate: close it.
  session.onEnd(() => bridge.stop());

  /** Runs `fn`, then (best effort) brings the bridge up: a failure there must not fail the request. */
  const andOnline = async <T>(fn: () => Promise<T>): Promise<T> => {
    const r = await fn();
    await online().catch((e: unknown) => log('BRIDGE', e));
    return r;
  };

  const dappNotify = o.dappNotify ?? (() => {});
  // Locking hides every site's accounts and unlocking shows them again: tell the open pages.
  session.onKey(() => dappNotify());
  session.onEnd(() => dappNotify());
  const dappApprovals = new DappApprovals({
    rng: o.platform.rng,
    openWindow:
      o.platform.openWindow ??
      (() => Promise.reject(new Error('this platform cannot open approval windows'))),
    ...(o.platform.closeWindow === undefined ? {} : { closeWindow: o.platform.closeWindow }),
  });
  const dappSites = new DappSites(o.db, () => o.platform.now());
  const dapp = new DappService({
    sites: dappSites,
    approvals: dappApprovals,
    rpc: new RpcForwarder(o.platform.fetch ?? ((...args) => globalThis.fetch(...args))),
    settings: () => repos.settings.get(),
    addChain: async (chain) => {
      const s = await repos.settings.get();
      await repos.settings.update({ chains: [...s.chains, chain] });
    },
    isUnlocked: async () => (await unlocked()) !== null,
    vaults: () => ceremonies.vaults(),
    notify: dappNotify,
    signing: {
      buildCall: (input) => chain.buildCall(input),
      describe: async (body, from) => describeSigning(body, from, await chain.reader(body.chainId)),
      propose: async (vaultId, body) => {
        await online().catch((e: unknown) => log('BRIDGE', e));
        return (await requests.createSigning(vaultId, body)).id;
      },
      outcome: (id) => requests.outcome(id),
    },
  });

  const route = createRouter({
    runtimeId: o.runtimeId,
    extensionOrigin: o.extensionOrigin,
    onActivity: () => wallet.activity(),
    ...(o.logError ? { logError: o.logError } : {}),
    handlers: {
      status: () => andOnline(() => wallet.status()),
      'onboarding.create': (r) => andOnline(() => wallet.onboard(r.passphrase)),
      'onboarding.restore': (r) =>
        andOnline(async () => {
          if (await wallet.isOnboarded()) {
            throw new ExtensionError('ALREADY_ONBOARDED', 'This device is already set up.');
          }
          const scrypt = o.backupKdf?.scrypt;
          const prepared = await prepareRestore(
            r.file,
            r.backupPassphrase,
            scrypt === undefined ? undefined : { kdf: { N: scrypt.N, r: scrypt.r, p: scrypt.p } },
          );
          try {
            return await wallet.onboard(r.passphrase, prepared);
          } finally {
            if (!prepared.identity.destroyed) prepared.identity.destroy();
            prepared.source.pointShares.length = 0;
          }
        }),
      'restore.list': async () => (await o.db.restores.toArray()).map(restoreView),
      unlock: (r) => andOnline(() => wallet.unlock(r.passphrase)),
      lock: () => wallet.lock(),
      activity: () => wallet.status(),
      'device.get': () => device.info(),
      'settings.get': () => repos.settings.get(),
      'settings.update': async (r) => {
        const next = await repos.settings.update(r.patch);
        if (r.patch.autoLockMinutes !== undefined) await wallet.autoLockChanged(next.autoLockMinutes);
        return next;
      },
      'device.inspect': async (r) => {
        try {
          const p = parseDeviceCode(r.code);
          return { deviceId: toHex(p.deviceId), fingerprint: deviceFingerprint(p) };
        } catch (cause) {
          throw new ExtensionError('INVALID_REQUEST', 'That is not a valid Concord device code.', { cause });
        }
      },
      'vault.propose': (r) => ceremonies.propose(r),
      'vault.list': () => ceremonies.vaults(),
      'ceremony.list': () => andOnline(() => ceremonies.list()),
      'ceremony.respond': (r) => ceremonies.respond(r.id, r.accept),
      'bridge.status': async () => bridge.status(),
      'send.preview': ({ type: _t, ...input }) => requests.preview(input),
      'send.create': ({ type: _t, ...input }) => requests.createSend(input),
      'request.list': () => andOnline(() => requests.list()),
      'request.get': (r) => andOnline(() => requests.view(r.id)),
      'request.decide': (r) => requests.decide(r.id, r.approve),
      'request.reopen': (r) => requests.reopen(r.id),
      'vault.balance': async (r) => {
        const v = await repos.vaults.get(r.vaultId);
        if (v?.address == null) throw new ExtensionError('NOT_FOUND', 'No such vault on this device.');
        return chain.balance(
          r.chainId,
          v.address as `0x${string}`,
          (r.token ?? null) as `0x${string}` | null,
        );
      },
      ...viewHandlers({
        repos,
        chain,
        connection,
        redial: async () => {
          bridge.stop();
          await online();
        },
      }),
      'token.list': (r) => tokens.list(r.chainId),
      'token.add': (r) => tokens.add(r.chainId, r.address),
      'token.remove': (r) => tokens.remove(r.chainId, r.address),
      'token.balances': (r) => tokens.balances(r.vaultId, r.chainId),
      'backup.export': (r) => backups.exportBackup(r.vaultId, r.walletPassphrase, r.passphrase),
      'backup.verify': (r) => backups.verifyBackup(r.vaultId, r.file, r.passphrase),
      'reshare.propose': ({ type: _t, ...input }) => requests.createReshare(input),
      'dapp.approval.get': async (r) => {
        const view = dappApprovals.view(r.id);
        if (view.kind !== 'connect') return view;
        if ((await unlocked()) === null) throw new ExtensionError('LOCKED', 'Unlock Concord first.');
        return { ...view, vaults: await dapp.vaultChoices() };
      },
      'dapp.approval.decide': async (r) => {
        await dappApprovals.decide(r.id, { approve: r.approve, vaultIds: r.vaultIds });
        return null;
      },
      'dapp.sites.list': () => dapp.sitesView(),
      'dapp.sites.revoke': async (r) => {
        if (await dappSites.revoke(r.origin)) dappNotify(r.origin);
        return dapp.sitesView();
      },
    },
  });

  return {
    route,
    wallet,
    session,
    ceremonies,
    requests,
    bridge,
    dapp,
    dappApprovals,
    async onAlarm(name) {
      if (name === AUTO_LOCK_ALARM) await wallet.onAutoLockAlarm();
      else if (requestOfAlarm(name) !== null) {
        // A request's deadline (its worker may have died since): bring the bridge up — its restore
        // rebinds open requests — then act. While locked nothing can be signed; unlocking restores.
        await online().catch((e: unknown) => log('BRIDGE', e));
        await requests.onAlarm(name);
      }
    },
  };
}
