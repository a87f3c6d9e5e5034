/**
 * All repositories over one open database, constructed together so services receive one object.
 */
import type { ConcordDb } from '../db.ts';
import { IdentityRepository } from './identity.ts';
import { MetaRepository } from './meta.ts';
import { SettingsRepository } from './settings.ts';
import { SharesRepository } from './shares.ts';
import {
  ApprovalsRepository,
  BansRepository,
  CeremoniesRepository,
  ProposalsRepository,
  VaultsRepository,
} from './tables.ts';

export interface Repositories {
  db: ConcordDb;
  meta: MetaRepository;
  identity: IdentityRepository;
  settings: SettingsRepository;
  shares: SharesRepository;
  vaults: VaultsRepository;
  proposals: ProposalsRepository;
  approvals: ApprovalsRepository;
  ceremonies: CeremoniesRepository;
  bans: BansRepository;
}

export function repositories(db: ConcordDb): Repositories {
  return {
    db,
    meta: new MetaRepository(db),
    identity: new IdentityRepository(db),
    settings: new SettingsRepository(db),
    shares: new SharesRepository(db),
    vaults: new VaultsRepository(db),
    proposals: new ProposalsRepository(db),
    approvals: new ApprovalsRepository(db),
    ceremonies: new CeremoniesRepository(db),
    bans: new BansRepository(db),
  };
}
