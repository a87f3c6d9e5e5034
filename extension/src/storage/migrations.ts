/**
 * Numbered schema migrations of the Concord IndexedDB database. Each entry is one Dexie version:
 * the full store list at that version plus an optional upgrade function for data. Never edit a
 * shipped entry; append a new one. Dexie runs every missing step in order when the database opens,
 * and opening an up-to-date database runs nothing (tests cover both).
 *
 * Store syntax: first key is the primary key (`&` unique index, `[a+b]` compound index).
 */
import type { Transaction } from 'dexie';
import { DAPP_SITES_MIGRATION } from './dapp-sites-migration.ts';
import { TOKENS_MIGRATION } from './tokens-migration.ts';

export interface Migration {
  version: number;
  description: string;
  stores: Record<string, string | null>;
  upgrade?: (tx: Transaction) => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description:
      'initial schema: identity, keyring meta, vaults, shares, proposals, approvals, ceremonies, settings, bans',
    stores: {
      meta: 'key',
      identity: 'id',
      vaults: 'id, status, createdAt',
      shares: 'id, vaultId, status, [vaultId+status], [vaultId+epoch]',
      proposals: 'id, vaultId, status, kind, createdAt, expiresAt',
      approvals: 'id, proposalId, deviceId',
      ceremonies: 'id, vaultId, proposalId, kind, status, updatedAt',
      settings: 'key',
      bans: 'id, vaultId, deviceId',
    },
  },
  {
    version: 2,
    description:
      'transactions: signed transactions of send requests and their chain status; restores: shares restored from backups awaiting a refresh',
    stores: {
      transactions: 'id, vaultId, status, updatedAt',
      restores: 'id',
    },
  },
  {
    version: 3,
    description:
      'vaults and shares rows carry `auth`, a seal under the data key binding every field (record-auth.ts); no index changes. Rows of older versions are authenticated at the first unlock, which needs the data key that a schema upgrade does not have',
    stores: {},
  },
  {
    version: 4,
    description:
      'envelopeKeys: this device’s rotated envelope (X25519) keys, one per reshare it took part in, sealed under the data key; a key is kept while a vault record or an unfinished certificate delivery lists it',
    stores: { envelopeKeys: 'id, vaultId' },
  },
  DAPP_SITES_MIGRATION,
  TOKENS_MIGRATION,
];

/** The schema version the code expects (the last migration's number). */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
