/**
 * A WalletConnect-compatible relay for tests and demos (WalletConnect "Relay Server RPC" spec plus
 * the Sign 2.5 `wc_proposeSession` / `wc_approveSession` methods of @walletconnect/sign-client
 * 2.2x). In memory, loopback by default; not a production relay (see bridge-server/README.md).
 */
export { admit, publicKeyFromDidKey, verifyRelayJwt } from './auth.ts';
export { DEFAULT_WC_RELAY_LIMITS, type WcRelayLimits } from './config.ts';
export { isWcRelayError, WC_RELAY_ERRORS, WcRelayError, type WcRelayErrorCode } from './errors.ts';
export {
  PROPOSAL_TTL_SECONDS,
  TAG_SESSION_PROPOSE,
  TAG_SESSION_PROPOSE_RESPONSE,
  TAG_SESSION_SETTLE,
} from './handlers.ts';
export { type WcConnection, WcRelayCore } from './relay.ts';
export { type RunningWcRelay, startWcRelay, type WcRelayOptions } from './server.ts';
export { subscriptionId } from './subscriptions.ts';
