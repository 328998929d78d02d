import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Collector } from '../../operator/src/collector/collector.js';
import { MinerFleets } from '../../operator/src/controllers/minerfleet/controller.js';
import { offlineCollectorCaches } from './offline-caches.js';

type Line = Record<string, unknown> & { msg?: string; level?: number; err?: { type?: string; message?: string; stack?: string; cause?: unknown } };

/**
 * A collector whose API server address refuses connections (a free loopback port nothing listens
 * on): its status write fails for real, and what it logs is captured from pino's JSON output.
 */
async function rig(signal?: AbortSignal) {
  const { rest, pods, fleets } = await offlineCollectorCaches();
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) });
  fleets.store.upsert({
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MinerFleet',
    metadata: { name: 'alpha', namespace: 'farm', uid: 'u-1', resourceVersion: '1' },
    spec: {},
  });
  const collector = new Collector({
    rest,
    pods,
    fleets,
    fleetResource: MinerFleets,
    store: undefined,
    registry: new Registry(),
    logger: logger.child({ controller: 'collector' }),
    intervalMs: 60_000,
    windowSeconds: 60,
    concurrency: 2,
    timeoutMs: 2_000,
    defaultMetricsPort: 9100,
    isLeader: () => true,
    ...(signal ? { signal } : {}),
  });
  return { collector, lines };
}

describe('collector logs', () => {
  it('logs a failed status write with its context keys and the error as an object (type, message, stack, cause)', async () => {
    const { collector, lines } = await rig();
    await collector.cycle();
    const line = lines.find((l) => l.msg === 'collector: status write failed; retried next cycle');
    expect(line, JSON.stringify(lines)).toBeDefined();
    expect(line).toMatchObject({ controller: 'collector', namespace: 'farm', fleet: 'alpha', level: 40 });
    expect(typeof line!.err).toBe('object');
    expect(line!.err!.type).toMatch(/Error/);
    expect(line!.err!.message).toEqual(expect.any(String));
    expect(line!.err!.message!.length).toBeGreaterThan(0);
    // A stack, not just a message string: where the failure came from is in the log.
    expect(line!.err!.stack).toMatch(/\n\s+at /);
    // The connection refusal behind "fetch failed" is kept as the cause.
    expect(JSON.stringify(line!.err)).toMatch(/ECONNREFUSED/);
    expect(collector.stats.statusWrites).toBe(0);
  });

  it('a cancelled collector (e.g. leadership lost) sends nothing and logs no failure', async () => {
    const ctl = new AbortController();
    ctl.abort(new Error('leader lease lost'));
    const { collector, lines } = await rig(ctl.signal);
    await collector.cycle();
    expect(collector.stats.cycles).toBe(0);
    expect(collector.stats.statusWrites).toBe(0);
    expect(lines.filter((l) => (l.level ?? 0) >= 40)).toEqual([]);
  });
});
