/**
 * Runs the describers (@concord/bridge-server/describe) on a signing request's raw body, on this
 * device with its own chain reads: a send's unsigned EIP-1559 bytes decoded here (calldata through
 * `describeTx`, never a bare "contract call"), a message's bytes, typed data's canonical JSON. The
 * origin shown is the one the request carries (the initiator's browser reported it); the describer
 * flags punycode and lookalikes (THREATS C 56).
 */
import {
  type ChainReader,
  type Description,
  describeMessage,
  describeTx,
  describeTypedData,
} from '@concord/bridge-server/describe';
import { decodeUnsignedTx, type SigningBody } from '@concord/bridge-server/vault';
import { bytesToHex } from 'viem';

export async function describeSigning(
  body: SigningBody,
  from: string | null,
  chain: ChainReader | null,
): Promise<Description> {
  const ctx = {
    chainId: body.chainId,
    ...(body.origin === undefined || body.origin === null ? {} : { origin: body.origin }),
    ...(chain === null ? {} : { chain }),
  };
  switch (body.kind) {
    case 'send': {
      const tx = decodeUnsignedTx(body.tx);
      return describeTx(
        {
          chainId: tx.chainId,
          ...(from === null ? {} : { from }),
          to: tx.to,
          value: tx.value,
          data: tx.data,
          gas: tx.gas,
          maxFeePerGas: tx.maxFeePerGas,
          maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
          nonce: tx.nonce,
        },
        ctx,
      ).then(jsonSafe);
    }
    case 'message':
      return describeMessage(bytesToHex(body.message), ctx).then(jsonSafe);
    case 'typed-data':
      return describeTypedData(body.data, ctx).then(jsonSafe);
  }
}

/** The description crosses to the UI as JSON: its raw transaction's bigints become decimal strings. */
function jsonSafe(d: Description): Description {
  return JSON.parse(JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}
