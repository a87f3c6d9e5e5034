/** The bridge client: transport (`client.ts`) and the E2E session glue (`secure-session.ts`). */
export {
  BridgeClient,
  BridgeClientError,
  type BridgeClientOptions,
  type ClientEvents,
  type ClientState,
  type DeliveredMessage,
  SeenCache,
  type SendParams,
  type WebSocketCtor,
  type WebSocketLike,
} from './client.ts';
export { type Rejection, SecureBridgeSession, type SecureMessage } from './secure-session.ts';
