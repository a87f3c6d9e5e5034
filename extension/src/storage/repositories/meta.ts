/**
 * Repository for the `meta` table: the keyring header and the unlock throttle. Both are public (the
 * header holds only wrapped key material) but must survive restarts, so they live in IndexedDB.
 */
import type { KeyringHeader } from '../../crypto/keyring-header.ts';
import type { ConcordDb } from '../db.ts';

const KEYRING = 'keyring';
const THROTTLE = 'unlockThrottle';

/** Failed-unlock bookkeeping (THREATS 60). */
export interface UnlockThrottleState {
  /** Consecutive failed attempts since the last success. */
  failures: number;
  /** Epoch ms before which no attempt is accepted (0 = none). */
  notBefore: number;
}

export class MetaRepository {
  constructor(private readonly db: ConcordDb) {}

  async getKeyringHeader(): Promise<KeyringHeader | undefined> {
    return (await this.db.meta.get(KEYRING))?.value as KeyringHeader | undefined;
  }

  async putKeyringHeader(header: KeyringHeader): Promise<void> {
    await this.db.meta.put({ key: KEYRING, value: header });
  }

  async getThrottle(): Promise<UnlockThrottleState> {
    const v = (await this.db.meta.get(THROTTLE))?.value as UnlockThrottleState | undefined;
    return v ?? { failures: 0, notBefore: 0 };
  }

  async putThrottle(state: UnlockThrottleState): Promise<void> {
    await this.db.meta.put({ key: THROTTLE, value: state });
  }
}
