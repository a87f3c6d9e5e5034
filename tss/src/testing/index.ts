/**
 * Test and benchmark support: in-memory drivers, a seeded RNG, and helpers that rebuild secrets.
 * Never import this from production code.
 */
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
