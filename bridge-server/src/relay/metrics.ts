/**
 * Prometheus metrics (BRIDGE.md §20) on a registry per bridge instance (tests run several).
 * Labels are low-cardinality only: frame types and error codes, never ids.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Per-message counts kept as plain numbers and folded into their prom-client counters at scrape
 * time (each counter's `collect`). prom-client's `inc()` hashes labels and checks exemplars on
 * every call, which at ~50k increments/s was a visible slice of the relay profile; a scrape sees
 * exactly the same totals.
 */
export interface HotCounts {
  stored: number;
  duplicates: number;
  delivered: number;
  acked: number;
  /** Inbound frames by type. */
  frames: Map<string, number>;
}

/** Registry holder; `inflightSource` is wired by the relay once it exists (read at scrape time). */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const source = { inflight: () => 0 };
  const hot: HotCounts = { stored: 0, duplicates: 0, delivered: 0, acked: 0, frames: new Map() };
  const fold = (c: Counter, key: 'stored' | 'duplicates' | 'delivered' | 'acked') => {
    if (hot[key] > 0) {
      c.inc(hot[key]);
      hot[key] = 0;
    }
  };
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'concord_bridge_' });
  const m = {
    registry,
    source,
    hot,
    connections: new Gauge({
      name: 'concord_bridge_connections',
      help: 'Open WebSocket connections',
      registers: [registry],
    }),
    authenticated: new Gauge({
      name: 'concord_bridge_authenticated_devices',
      help: 'Devices with a live authenticated connection',
      registers: [registry],
    }),
    frames: new Counter({
      name: 'concord_bridge_frames_total',
      help: 'Inbound frames by type',
      labelNames: ['type'] as const,
      registers: [registry],
      collect() {
        for (const [type, n] of hot.frames) if (n > 0) this.inc({ type }, n);
        hot.frames.clear();
      },
    }),
    errors: new Counter({
      name: 'concord_bridge_errors_total',
      help: 'Error frames sent, by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    stored: new Counter({
      name: 'concord_bridge_messages_stored_total',
      help: 'Messages stored',
      registers: [registry],
      collect() {
        fold(this, 'stored');
      },
    }),
    duplicates: new Counter({
      name: 'concord_bridge_messages_duplicate_total',
      help: 'Idempotent re-sends',
      registers: [registry],
      collect() {
        fold(this, 'duplicates');
      },
    }),
    delivered: new Counter({
      name: 'concord_bridge_deliveries_total',
      help: 'deliver frames and fetched messages sent',
      registers: [registry],
      collect() {
        fold(this, 'delivered');
      },
    }),
    acked: new Counter({
      name: 'concord_bridge_acks_total',
      help: 'Messages acknowledged',
      registers: [registry],
      collect() {
        fold(this, 'acked');
      },
    }),
    expired: new Counter({
      name: 'concord_bridge_expired_total',
      help: 'Messages and sessions removed by the sweeper',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'concord_bridge_rate_limited_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    inflight: new Gauge({
      name: 'concord_bridge_inflight_deliveries',
      help: 'Delivered but not yet acknowledged messages on live connections',
      registers: [registry],
      collect() {
        this.set(source.inflight());
      },
    }),
    redisLatency: new Histogram({
      name: 'concord_bridge_redis_command_seconds',
      help: 'Redis command and script round trips (--store redis), by operation',
      labelNames: ['op'] as const,
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2, 5],
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: 'concord_bridge_redis_errors_total',
      help: 'Redis failures by kind: unavailable (no connection), timeout, reply (error from Redis), connection (link lost)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'concord_bridge_ack_latency_seconds',
      help: 'Time from delivery to acknowledgement',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
  return m;
}

export type BridgeMetrics = ReturnType<typeof createMetrics>;
