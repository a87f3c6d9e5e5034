import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/testing/rng.ts';
import { generateDeviceIdentity, publicIdentity } from '../../src/transport/identity.ts';
import { safetyCode } from '../../src/transport/safety-code.ts';

const [a, b, c, relay] = ['a', 'b', 'c', 'relay'].map((s) =>
  publicIdentity(generateDeviceIdentity(seededRandom(s))),
);

describe('safety code', () => {
  const base = {
    ceremonyId: 'ceremony-1',
    threshold: 3,
    members: [
      { identity: a!, power: 2 },
      { identity: b!, power: 1 },
      { identity: c!, power: 1 },
    ],
  };

  it('is 6 groups of 5 digits and independent of member order', () => {
    const code = safetyCode(base);
    expect(code).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(safetyCode({ ...base, members: [...base.members].reverse() })).toBe(code);
  });

  it('THREATS B42: a relay substituting a member key yields a different code', () => {
    const honest = safetyCode(base);
    // The relay replaces c's identity with its own on the view it gives to a and b.
    const attacked = safetyCode({
      ...base,
      members: [base.members[0]!, base.members[1]!, { identity: relay!, power: 1 }],
    });
    expect(attacked).not.toBe(honest);
    // Substituting only the agreement key (keeping c's id) also changes the code.
    const swappedKey = { ...c!, agreementKey: relay!.agreementKey };
    expect(
      safetyCode({
        ...base,
        members: [base.members[0]!, base.members[1]!, { identity: swappedKey, power: 1 }],
      }),
    ).not.toBe(honest);
  });

  it('binds powers, threshold and ceremony id', () => {
    const honest = safetyCode(base);
    expect(safetyCode({ ...base, threshold: 2 })).not.toBe(honest);
    expect(safetyCode({ ...base, ceremonyId: 'ceremony-2' })).not.toBe(honest);
    expect(
      safetyCode({
        ...base,
        members: [{ identity: a!, power: 1 }, base.members[1]!, { identity: c!, power: 2 }],
      }),
    ).not.toBe(honest);
  });

  it('refuses duplicate members and bad parameters', () => {
    expect(() => safetyCode({ ...base, members: [base.members[0]!, base.members[0]!] })).toThrow(/duplicate/);
    expect(() => safetyCode({ ...base, threshold: 0 })).toThrow();
  });
});
