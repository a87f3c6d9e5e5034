/**
 * The one serialisable shape every describer returns: what a UI renders and what a policy engine
 * reads. Plain JSON only (strings, numbers, booleans, arrays, objects; amounts as decimal strings),
 * so a description can cross postMessage, IndexedDB and the wire unchanged.
 */
import type { CallNode } from './calldata.ts';
import type { MessageView } from './message.ts';
import type { OriginView } from './origin.ts';
import type { TypedDataView } from './typed-data.ts';
import type { Warning } from './warnings.ts';

export interface Field {
  label: string;
  value: string;
  kind: 'address' | 'amount' | 'text' | 'date' | 'hex' | 'chain';
}

export interface Description {
  kind: 'tx' | 'typed-data' | 'message';
  /** One line: what signing this does. */
  title: string;
  origin: OriginView | null;
  fields: Field[];
  /** Transactions: the decoded call tree. */
  calls: CallNode | null;
  /** Typed data: domain and message trees, the digest, the sentence for a known type. */
  typedData: TypedDataView | null;
  /** personal_sign: the bytes as text or hex. */
  message: MessageView | null;
  /** Most severe first. */
  warnings: Warning[];
  /** True when any warning has severity `refuse`: the request must not be signed as shown. */
  refused: boolean;
  /** The request exactly as received, so a signer is always one click from the raw bytes. */
  raw: unknown;
}
