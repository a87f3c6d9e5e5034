/**
 * The domain-separation tags (tss/src/tags.ts): every tag string is distinct (two hashes sharing a
 * tag could be confused across protocol steps) and ends in a version (`/v<N>`), so changing what a
 * hash covers is done by bumping the version.
 */
import { describe, expect, it } from 'vitest';
import { TAGS } from '../../src/tags.ts';

describe('TAGS', () => {
  const entries = Object.entries(TAGS) as [string, string][];

  it('has distinct tag strings', () => {
    const byValue = new Map<string, string[]>();
    for (const [name, tag] of entries) byValue.set(tag, [...(byValue.get(tag) ?? []), name]);
    const dupes = [...byValue.entries()].filter(([, names]) => names.length > 1);
    expect(dupes, `tags shared by several names: ${JSON.stringify(dupes)}`).toEqual([]);
    expect(entries.length).toBeGreaterThan(10);
  });

  it('versions every tag and keeps it in the concord namespace', () => {
    const bad = entries.filter(([, tag]) => !/^concord\/[a-z0-9][a-z0-9/-]*\/v\d+$/.test(tag));
    expect(bad, `unversioned or malformed tags: ${JSON.stringify(bad)}`).toEqual([]);
    for (const [, tag] of entries) expect(tag).toMatch(/\/v\d+$/);
  });
});
