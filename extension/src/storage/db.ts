/**
 * The Concord IndexedDB database (Dexie 4). Opened once per context; tables are typed by the row
 * types in records.ts and the schema comes from the numbered migrations in migrations.ts.
 */
import { Dexie, type EntityTable } from 'dexie';
import type { DappSiteRecord } from './dapp-sites-migration.ts';
import { MIGRATIONS } from './migrations.ts';
import { installRecordAuth, RecordAuthGuard } from './record-auth.ts';
import type {
  ApprovalRecord,
  BanRecord,
  CeremonyRecord,
  EnvelopeKeyRecord,
  IdentityRecord,
  MetaRecord,
  ProposalRecord,
  RestoreRecord,
  SettingRecord,
  ShareRecord,
  TxRecord,
  VaultRecord,
} from './records.ts';
import type { TokenRecord } from './tokens-migration.ts';

export const DEFAULT_DB_NAME = 'concord';

export class ConcordDb extends Dexie {
  meta!: EntityTable<MetaRecord, 'key'>;
  identity!: EntityTable<IdentityRecord, 'id'>;
  vaults!: EntityTable<VaultRecord, 'id'>;
  shares!: EntityTable<ShareRecord, 'id'>;
  proposals!: EntityTable<ProposalRecord, 'id'>;
  approvals!: EntityTable<ApprovalRecord, 'id'>;
  ceremonies!: EntityTable<CeremonyRecord, 'id'>;
  settings!: EntityTable<SettingRecord, 'key'>;
  bans!: EntityTable<BanRecord, 'id'>;
  transactions!: EntityTable<TxRecord, 'id'>;
  restores!: EntityTable<RestoreRecord, 'id'>;
  dappSites!: EntityTable<DappSiteRecord, 'origin'>;
  envelopeKeys!: EntityTable<EnvelopeKeyRecord, 'id'>;
  tokens!: EntityTable<TokenRecord, 'id'>;
  /** Authentication at rest of `vaults` and `shares` rows (record-auth.ts); keyed while unlocked. */
  readonly recordAuth = new RecordAuthGuard();

  constructor(name: string = DEFAULT_DB_NAME, options?: ConstructorParameters<typeof Dexie>[1]) {
    super(name, options);
    for (const m of MIGRATIONS) {
      const v = this.version(m.version).stores(m.stores);
      if (m.upgrade) v.upgrade(m.upgrade);
    }
    installRecordAuth(this, this.recordAuth, Dexie.setByKeyPath);
  }
}

/** Opens (creating or migrating as needed) the database. */
export async function openDb(name: string = DEFAULT_DB_NAME): Promise<ConcordDb> {
  const db = new ConcordDb(name);
  await db.open();
  return db;
}
