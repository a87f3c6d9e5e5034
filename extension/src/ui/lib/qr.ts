/**
 * QR codes for addresses and device codes: `uqr` (ISO/IEC 18004 encoder, no dependencies) makes the
 * module matrix; this turns it into one SVG path so the page needs no canvas, no image URL and no
 * inline style (the extension's CSP allows none of them).
 */
import { encode } from 'uqr';

export interface QrPath {
  /** Width and height in modules, quiet zone included. */
  size: number;
  /** SVG path data: one 1×1 square per dark module. */
  d: string;
}

/** `ecc` M: readable with 15 % of the code damaged, still small for a 230-character device code. */
export function qrPath(text: string): QrPath {
  const qr = encode(text, { ecc: 'M', border: 4 });
  let d = '';
  qr.data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`;
    });
  });
  return { size: qr.size, d };
}

/** An EIP-681 payment URI for an address ("ethereum:0x…@1"), what wallet apps scan. */
export function ethereumUri(address: string, chainId?: number): string {
  return chainId === undefined ? `ethereum:${address}` : `ethereum:${address}@${chainId}`;
}
