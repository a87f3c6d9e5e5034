/**
 * The describe package's one typed error. Every failure to show a request carries a stable code
 * (clients switch on it) and a plain message that never contains secrets; the request body itself
 * is kept by the caller, so an error here never loses the request.
 */

export const DESCRIBE_ERROR_CODES = [
  /** Calldata is not hex, has an odd length, or is shorter than a 4-byte selector. */
  'CALLDATA_NOT_HEX',
  /** The selector is known but the arguments do not decode under its ABI. */
  'CALLDATA_MALFORMED',
  /** Nested multicalls go deeper, or contain more calls, than a signer can review. */
  'CALLDATA_TOO_DEEP',
  /** Typed data is not JSON, has duplicate keys, or does not match the EIP-712 shape. */
  'TYPED_DATA_INVALID',
  /** A personal_sign payload is not hex bytes. */
  'MESSAGE_INVALID',
  /** A transaction request is missing fields or has values out of range. */
  'TX_INVALID',
] as const;
export type DescribeErrorCode = (typeof DESCRIBE_ERROR_CODES)[number];

export class DescribeError extends Error {
  readonly code: DescribeErrorCode;
  constructor(code: DescribeErrorCode, message: string) {
    super(message);
    this.name = 'DescribeError';
    this.code = code;
  }
  /** The serialisable form kept inside a description. */
  toJSON(): { code: DescribeErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}
