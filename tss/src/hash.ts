/**
 * Domain-separated hashing. Every hash in the core goes through here with a versioned tag from
 * `tags.ts`; each field is length-prefixed so distinct field lists never collide (THREATS A8:
 * ["a$","b"] vs ["a","$b"]). Session ids, party ids and round names are passed as fields by the
 * callers, which is how every hash is bound to its session, parties and round.
 */

import { mapHashToField } from '@noble/curves/abstract/modular.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { u32be, utf8 } from './bytes.ts';

const Fn = secp256k1.Point.Fn;

function absorb(h: { update(b: Uint8Array): unknown }, tag: string, fields: readonly Uint8Array[]): void {
  const t = utf8(tag);
  h.update(u32be(t.length));
  h.update(t);
  h.update(u32be(fields.length));
  for (const f of fields) {
    h.update(u32be(f.length));
    h.update(f);
  }
}

/** SHA-256 over an unambiguous encoding of (tag, fields). 32 bytes. */
export function taggedHash(tag: string, ...fields: Uint8Array[]): Uint8Array {
  const h = sha256.create();
  absorb(h, tag, fields);
  return h.digest();
}

/** SHA-512 over the same encoding. 64 bytes. */
export function taggedHash512(tag: string, ...fields: Uint8Array[]): Uint8Array {
  const h = sha512.create();
  absorb(h, tag, fields);
  return h.digest();
}

/**
 * Hash to a secp256k1 scalar: 64 bytes of SHA-512 reduced mod n (FIPS 186-5 A.2.1 style; bias
 * below 2^-256). May be zero with negligible probability; callers that need non-zero check.
 */
export function hashToScalar(tag: string, ...fields: Uint8Array[]): bigint {
  return Fn.fromBytes(mapHashToField(taggedHash512(tag, ...fields), Fn.ORDER));
}

/** Expand (tag, fields) to `len` bytes: SHA-256 in counter mode over the tagged encoding. */
export function taggedExpand(len: number, tag: string, ...fields: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(len);
  const base = sha256.create();
  absorb(base, tag, fields);
  for (let i = 0, off = 0; off < len; i++, off += 32) {
    const block = base.clone().update(u32be(i)).digest();
    out.set(block.subarray(0, Math.min(32, len - off)), off);
  }
  return out;
}

/**
 * An append-only transcript: labelled fields absorbed in order, then one digest. Used where many
 * values of a round are bound together (echo digests, final transcript hashes).
 */
export class Transcript {
  private readonly fields: Uint8Array[] = [];
  constructor(private readonly tag: string) {}

  append(label: string, value: Uint8Array): this {
    this.fields.push(utf8(label), value);
    return this;
  }

  appendU32(label: string, n: number): this {
    return this.append(label, u32be(n));
  }

  digest(): Uint8Array {
    return taggedHash(this.tag, ...this.fields);
  }
}
