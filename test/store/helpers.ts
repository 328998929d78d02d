import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { HistoryStore, type StoreConfigInput } from '../../operator/src/store/index.js';
import type { RollupDoc, SampleDoc, ShareDoc } from '../../operator/src/store/index.js';

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `minefleet-store-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A database name of its own per test, so runs against a shared external MongoDB do not collide. */
export function uniqueDbName(tag: string): string {
  return `mf_test_${tag}_${process.pid}_${Math.floor(Math.random() * 1e9).toString(36)}`;
}

export const quietLogger = pino({ level: process.env.STORE_TEST_LOG ?? 'silent' });

export async function openStore(config: StoreConfigInput, registry = new Registry()): Promise<{ store: HistoryStore; registry: Registry }> {
  const store = await HistoryStore.connect(config, { registry, logger: quietLogger });
  return { store, registry };
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export const T0 = new Date('2026-01-01T00:00:00.000Z');

export function sample(i: number, over: Partial<SampleDoc> = {}): SampleDoc {
  return {
    namespace: 'mining',
    fleet: 'alpha',
    pod: `alpha-${i % 4}`,
    windowStart: new Date(T0.getTime() + Math.floor(i / 4) * 60_000),
    windowSeconds: 60,
    pool: 'pool-a',
    hashrate: 1000 + i,
    shares: { accepted: 3, rejected: 1, stale: 0 },
    difficulty: 0.5,
    ...over,
  };
}

export function rollup(minute: number, over: Partial<RollupDoc> = {}): RollupDoc {
  return {
    namespace: 'mining',
    fleet: 'alpha',
    windowStart: new Date(T0.getTime() + minute * 60_000),
    windowSeconds: 60,
    pods: 4,
    activePool: 'pool-a',
    hashrate: 4000 + minute * 10,
    shares: { accepted: 10, rejected: 2, stale: 1 },
    ...over,
  };
}

export function share(i: number, over: Partial<ShareDoc> = {}): ShareDoc {
  return {
    namespace: 'mining',
    fleet: 'alpha',
    pod: 'alpha-0',
    pool: 'pool-a',
    worker: 'user.alpha.alpha-0',
    jobId: `job${Math.floor(i / 10)}`,
    extranonce2: i.toString(16).padStart(8, '0'),
    ntime: '6553f0a0',
    nonce: (0x1000 + i).toString(16).padStart(8, '0'),
    difficulty: 0.25,
    result: 'accepted',
    time: new Date(T0.getTime() + i * 1000),
    ...over,
  };
}
