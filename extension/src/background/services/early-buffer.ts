/**
 * Messages of a bridge session held until the session is bound: shared with the headless member
 * (`@concord/bridge-server/vault/early-buffer`).
 */
export { EarlyBuffer } from '@concord/bridge-server/vault/early-buffer';
