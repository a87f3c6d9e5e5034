/**
 * personal_sign payloads (EIP-191 version 0x45): the bytes shown as UTF-8 text when they are
 * printable text, otherwise as hex, with the digest that will actually be signed. Text containing
 * control or bidirectional-override characters is shown as hex, since its rendering could differ
 * from its bytes.
 */
import { type Hex, hashMessage, isHex, stringToHex } from 'viem';
import { DescribeError } from './errors.ts';

export interface MessageView {
  encoding: 'utf8' | 'hex';
  /** The text, or the 0x-hex of the bytes when they are not printable text. */
  text: string;
  bytes: Hex;
  length: number;
  /** EIP-191 personal-message digest: keccak256("\x19Ethereum Signed Message:\n" + len + bytes). */
  digest: Hex;
}

const MAX_MESSAGE_BYTES = 64 * 1024;
// C0/C1 controls except tab, LF, CR; bidi embeddings/overrides/isolates; zero-width and BOM;
// the replacement character. Written as ranges of code points (a regex of controls reads badly).
const UNPRINTABLE_RANGES: readonly [number, number][] = [
  [0x00, 0x08],
  [0x0b, 0x0c],
  [0x0e, 0x1f],
  [0x7f, 0x9f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2066, 0x2069],
  [0xfeff, 0xfeff],
  [0xfffd, 0xfffd],
];

function hasUnprintable(text: string): boolean {
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (UNPRINTABLE_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi)) return true;
  }
  return false;
}

/** Parses the wire form: 0x-hex bytes (what dApps send), or a plain string taken as UTF-8. */
export function messageBytes(input: unknown): Hex {
  if (typeof input !== 'string') throw new DescribeError('MESSAGE_INVALID', 'the message is not a string');
  const bytes =
    isHex(input, { strict: true }) && input.length % 2 === 0
      ? (input.toLowerCase() as Hex)
      : stringToHex(input);
  if ((bytes.length - 2) / 2 > MAX_MESSAGE_BYTES) {
    throw new DescribeError('MESSAGE_INVALID', `the message is longer than ${MAX_MESSAGE_BYTES} bytes`);
  }
  return bytes;
}

export function messageView(bytes: Hex): MessageView {
  const raw = new Uint8Array((bytes.length - 2) / 2);
  for (let i = 0; i < raw.length; i++) raw[i] = Number.parseInt(bytes.slice(2 + 2 * i, 4 + 2 * i), 16);
  let text: string | null = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    text = null;
  }
  const printable = text !== null && text.length > 0 && !hasUnprintable(text);
  return {
    encoding: printable ? 'utf8' : 'hex',
    text: printable ? (text as string) : bytes,
    bytes,
    length: raw.length,
    digest: hashMessage({ raw: bytes }),
  };
}
