/**
 * Repositories for the public protocol bookkeeping tables: vaults, proposals, approvals, ceremonies
 * and bans. Thin on purpose: the services that own these flows (vault setup, co-approval, ceremonies)
 * add behaviour when they land; the repositories fix the keys and the queries they will need.
 */
import type { ConcordDb } from '../db.ts';
import type { ApprovalRecord, BanRecord, CeremonyRecord, ProposalRecord, VaultRecord } from '../records.ts';
import { vaultIdCollision } from './shares.ts';

export class VaultsRepository {
  constructor(private readonly db: ConcordDb) {}
  get(id: string): Promise<VaultRecord | undefined> {
    return this.db.vaults.get(id);
  }
  list(): Promise<VaultRecord[]> {
    return this.db.vaults.orderBy('createdAt').toArray();
  }
  put(v: VaultRecord): Promise<string> {
    return this.db.vaults.put(v);
  }
  /**
   * Stores a newly created vault; refuses (`VAULT_ID_COLLISION`) when its id is taken, instead of
   * overwriting another vault's members and threshold. Run inside the caller's transaction.
   */
  async create(v: VaultRecord): Promise<void> {
    if ((await this.db.vaults.get(v.id)) !== undefined) throw vaultIdCollision();
    await this.db.vaults.add(v);
  }
  /** Whether `id` is used by a vault or by any share row on this device. */
  async idTaken(id: string): Promise<boolean> {
    return (
      (await this.db.vaults.get(id)) !== undefined ||
      (await this.db.shares.where('vaultId').equals(id).count()) > 0
    );
  }
  count(): Promise<number> {
    return this.db.vaults.count();
  }
}

export class ProposalsRepository {
  constructor(private readonly db: ConcordDb) {}
  get(id: string): Promise<ProposalRecord | undefined> {
    return this.db.proposals.get(id);
  }
  open(): Promise<ProposalRecord[]> {
    return this.db.proposals.where('status').equals('open').sortBy('createdAt');
  }
  put(p: ProposalRecord): Promise<string> {
    return this.db.proposals.put(p);
  }
  /** Marks open proposals past their deadline as expired; returns how many. */
  expire(now: number): Promise<number> {
    return this.db.proposals
      .where('expiresAt')
      .below(now)
      .and((p) => p.status === 'open')
      .modify({ status: 'expired' });
  }
}

export function approvalId(proposalId: string, deviceId: string): string {
  return `${proposalId}:${deviceId}`;
}

export class ApprovalsRepository {
  constructor(private readonly db: ConcordDb) {}
  forProposal(proposalId: string): Promise<ApprovalRecord[]> {
    return this.db.approvals.where('proposalId').equals(proposalId).toArray();
  }
  /** One approval per device per proposal: a second one from the same device is refused. */
  add(a: Omit<ApprovalRecord, 'id'>): Promise<string> {
    return this.db.approvals.add({ ...a, id: approvalId(a.proposalId, a.deviceId) });
  }
}

export class CeremoniesRepository {
  constructor(private readonly db: ConcordDb) {}
  get(id: string): Promise<CeremonyRecord | undefined> {
    return this.db.ceremonies.get(id);
  }
  running(): Promise<CeremonyRecord[]> {
    return this.db.ceremonies.where('status').equals('running').toArray();
  }
  put(c: CeremonyRecord): Promise<string> {
    return this.db.ceremonies.put(c);
  }
}

export function banId(vaultId: string, deviceId: string): string {
  return `${vaultId}:${deviceId}`;
}

export class BansRepository {
  constructor(private readonly db: ConcordDb) {}
  add(b: Omit<BanRecord, 'id'>): Promise<string> {
    return this.db.bans.put({ ...b, id: banId(b.vaultId, b.deviceId) });
  }
  async isBanned(vaultId: string, deviceId: string): Promise<boolean> {
    return (await this.db.bans.get(banId(vaultId, deviceId))) !== undefined;
  }
  forVault(vaultId: string): Promise<BanRecord[]> {
    return this.db.bans.where('vaultId').equals(vaultId).toArray();
  }
}
