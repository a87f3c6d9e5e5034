/**
 * Test and benchmark support: in-memory drivers, a seeded RNG, and helpers that rebuild secrets.
 * Never import this from production code.
 */

// Wire codecs of signing round 2, for tests that tamper with an RVOLE message in flight (a
// malicious co-signer); production code never re-encodes another party's message.
export { decodeSignS2, encodeSignS2 } from '../sign/messages.ts';
export {
  type DeliveryStats,
  expectAllOk,
  type Intercept,
  inMemorySigner,
  type RunDkgOptions,
  type RunOutcome,
  type RunSignOptions,
  runDkg,
  runReshare,
  runSessions,
  runSign,
  testPartyIds,
} from './driver.ts';
export { interpolateSecret } from './inspect.ts';
export { seededRandom } from './rng.ts';
