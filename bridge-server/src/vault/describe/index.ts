/**
 * @concord/bridge-server/describe — "no blind signing": pure describers every co-signer's device
 * runs on the raw request body (transactions, EIP-712 typed data, personal_sign messages), with
 * chain reads behind injected ports. See bridge-server/README.md, "Describing requests".
 */
export { KNOWN_FUNCTIONS, PERMIT2_ADDRESS } from './abis.ts';
export type { ArgNode, CallNode, DecodedCall, EmptyCall, MalformedCall, UnknownCall } from './calldata.ts';
export { decodeCall, MAX_CALL_DEPTH, MAX_CALLS } from './calldata.ts';
export { publicClientReader } from './chain-reader.ts';
export { describeMessage, describeTx, describeTypedData, type TxRequest } from './describe.ts';
export type { Description, Field } from './description.ts';
export { DESCRIBE_ERROR_CODES, DescribeError, type DescribeErrorCode } from './errors.ts';
export { formatTokenAmount, isUnlimited, UNLIMITED_THRESHOLD } from './format.ts';
export type { MessageView } from './message.ts';
export { describeOrigin, lookalikeOf, type OriginView, WELL_KNOWN_DOMAINS } from './origin.ts';
export type {
  ChainReader,
  DescribeContext,
  KnownAddresses,
  PendingTransactions,
  TokenMetadata,
} from './ports.ts';
export { hostToUnicode, punycodeDecode } from './punycode.ts';
export { type ParsedTypedData, parseTypedData, type TypedDataView } from './typed-data.ts';
export { type Severity, WARNING_CODES, type Warning, type WarningCode } from './warnings.ts';
