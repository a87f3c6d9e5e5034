/**
 * `@concord/bridge-server/relay`: start a bridge in-process (`startBridge`, as the CLI does), the
 * TCP balancer that puts several nodes behind one address (`startBalancer`, as `bridge:cluster`
 * does), and the mailbox-store types its options and tests name. Used by the CLI, by tests that run
 * a real relay beside the code under test, and by operators embedding it; the relay's internals
 * stay private.
 */
export { type BalancerOptions, type RunningBalancer, startBalancer } from './balancer.ts';
export { type BridgeOptions, createLogger, type RunningBridge, startBridge, WS_PATH } from './server.ts';
export type { MailboxStore, PutInput, PutResult, StoredMessage } from './store/types.ts';
