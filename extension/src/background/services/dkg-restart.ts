/**
 * Restarting a vault's DKG cut by a worker restart, with the same accepted proposal: the wire format
 * and decisions live in the vault-member runtime (`@concord/bridge-server/vault/dkg-restart`), shared
 * with the headless member; ceremonies.ts does the extension's I/O.
 */
export * from '@concord/bridge-server/vault/dkg-restart';
