/**
 * `@concord/extension/ceremony-channel`: the per-run ceremony channel (envelope v2 announce, wait,
 * seal, wipe) that cross-package tests drive beside a real bridge. Exported so those tests exercise
 * the wallet's own channel instead of a copy.
 */
export { frame, SessionChannel } from './background/services/ceremony-runner.ts';
