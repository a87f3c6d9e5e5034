/**
 * Shared, lazily built OT-setup runs for the `tss/test/ot` suite. A full ordered-pair setup costs
 * over a second on the shared CI box, so the suite builds one seeded run and derives negative
 * tests from it by mutating saved messages (re-creating the receiver's keep from the same seed).
 */
import { expect } from 'vitest';
import { TssError, type TssErrorCode } from '../../src/errors.ts';
import { otSetupReceiverStart, otSetupSenderRespond } from '../../src/ot/setup.ts';
import type { AboFullSeeds } from '../../src/ot/types.ts';
import { seededRandom } from '../../src/testing/rng.ts';

export const SID = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const RECEIVER_SEED = 'ot-setup/receiver';
export const SENDER_SEED = 'ot-setup/sender';
/** Hex ids: S is the base-OT sender, R the base-OT receiver. */
export const S_ID = '5e'.repeat(32);
export const R_ID = 'ae'.repeat(32);

export interface SetupRun {
  receiverMessage: Uint8Array;
  senderMessage: Uint8Array;
  senderSeeds: AboFullSeeds;
}

let run: SetupRun | undefined;

/** R's message and S's reply for (SID, seeds). Built once per test file. */
export function setupRun(): SetupRun {
  if (run === undefined) {
    const r = otSetupReceiverStart(SID, seededRandom(RECEIVER_SEED));
    r.keep.destroy();
    const s = otSetupSenderRespond(SID, r.message, seededRandom(SENDER_SEED), R_ID);
    run = { receiverMessage: r.message, senderMessage: s.message, senderSeeds: s.seeds };
  }
  return run;
}

/** The receiver's keep for the saved run (deterministic from the seed). */
export function freshKeep(): ReturnType<typeof otSetupReceiverStart>['keep'] {
  return otSetupReceiverStart(SID, seededRandom(RECEIVER_SEED)).keep;
}

/** Asserts `fn` throws a ban naming exactly `culprit` with error `code`. */
export function expectBan(fn: () => unknown, code: TssErrorCode, culprit: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(TssError);
  const err = caught as TssError;
  expect(err.code).toBe(code);
  expect(err.abortKind).toBe('ban');
  expect(err.culprits).toEqual([culprit]);
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** XOR `mask` into byte `i` of `b` (a test mutation). */
export function flip(b: Uint8Array, i: number, mask: number): void {
  b[i] = (b[i] ?? 0) ^ mask;
}
