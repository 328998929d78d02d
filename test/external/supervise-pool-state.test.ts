/**
 * `miner supervise` pool gauges on real processes: two emulated ASICs (an Antminer L3+ and a
 * Goldshell LT5, whose replies carry different quirks) mining on a litecoind-fed test pool. The
 * supervisor's /metrics shows the pool's share difficulty per device (and follows a
 * mining.set_difficulty), the connection state goes from authorized to disconnected when the
 * pool stops and back when it returns, the collector's parser reads it all per device, and the
 * operator's collector stores it in each device's samples (FerretDB).
 * Then, in process: a device that leaves the fleet's pool by itself is a local fallback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsicApiServer } from '../../miner/src/external/emulator/api-server.js';
import { EmulatedAsic } from '../../miner/src/external/emulator/asic.js';
import { SupervisorMetrics } from '../../miner/src/external/metrics.js';
import { modelById } from '../../miner/src/external/models.js';
import type { WantedState } from '../../miner/src/external/plan.js';
import { Supervisor } from '../../miner/src/external/supervisor.js';
import { createLogger } from '../../miner/src/log.js';
import { Collector } from '../../operator/src/collector/collector.js';
import { parseMinerMetrics } from '../../operator/src/collector/exposition.js';
import { MinerFleets } from '../../operator/src/controllers/minerfleet/controller.js';
import type { SampleDoc } from '../../operator/src/store/index.js';
import { startFerretDB, startLitecoind, type Litecoind } from '../support/index.js';
import { offlineCollectorCaches } from '../history/offline-caches.js';
import { openStore, tempDir, uniqueDbName } from '../store/helpers.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, POOL_PASSWORD, waitFor } from '../miner/helpers.js';
import { metricValue, startEmulators, startProc, type Proc } from './helpers.js';

const DEVICES = ['l3', 'lt5'];

describe('miner supervise: difficulty and connection state of each device', () => {
  let ltc: Litecoind;
  let pool: StratumPool;
  let poolPort = 0;
  let l3: Awaited<ReturnType<typeof startEmulators>>;
  let lt5: Awaited<ReturnType<typeof startEmulators>>;
  let sup: Proc;
  let metricsPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'supervise-pool-state-'));
  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const state = (text: string, device: string) =>
    ['authorized', 'connecting', 'disconnected', 'stopped'].filter(
      (s) => metricValue(text, 'minefleet_miner_pool_connection_state', { device, pool: 'a', state: s }) === 1,
    );

  beforeAll(async () => {
    ltc = await startLitecoind();
    pool = await startStratumPool({ litecoind: ltc, difficulty: 0.002 });
    poolPort = pool.port;
    const dead = ['--hashrate', '200', '--pool-dead-seconds', '1'];
    [l3, lt5] = await Promise.all([startEmulators(['--model', 'antminer-l3plus', ...dead], 1), startEmulators(['--model', 'goldshell-lt5', ...dead], 1)]);
    const cfg = baseConfig([poolEntry('a', pool.url)], 'a', {
      fleet: 'farm',
      pod: 'sup-0',
      external: {
        devices: [
          { name: 'l3', host: '127.0.0.1', port: l3.ports[0]! },
          { name: 'lt5', host: '127.0.0.1', port: lt5.ports[0]! },
        ],
        pollIntervalSeconds: 1,
        requestTimeoutMs: 5000,
      },
    });
    const cfgPath = join(dir, 'miner.yaml');
    writeFileSync(cfgPath, JSON.stringify(cfg));
    sup = startProc(['supervise', '--config', cfgPath], { POOL_USER: 'tester', POOL_PASS: POOL_PASSWORD });
    metricsPort = await waitFor('supervisor metrics server', () => {
      if (!sup.alive()) throw new Error(`supervise exited: ${sup.stderr()}`);
      return sup.logs.find((l) => l.msg === 'metrics server listening')?.port as number | undefined;
    });
  });
  afterAll(async () => {
    await sup?.stop();
    await l3?.p.stop();
    await lt5?.p.stop();
    await pool?.stop();
    await ltc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows the pool's difficulty per device and follows mining.set_difficulty", async () => {
    const text = await waitFor(
      'both devices authorized at a with its difficulty',
      async () => {
        const t = await metrics();
        return DEVICES.every((d) => metricValue(t, 'minefleet_miner_difficulty', { device: d, pool: 'a' }) === 0.002 && state(t, d).join() === 'authorized')
          ? t
          : null;
      },
      60_000,
      100,
    );
    // One-hot over the CPU miner's states, 0 for the others (so `{state="authorized"} < 1` alerts work).
    expect(metricValue(text, 'minefleet_miner_pool_connection_state', { device: 'l3', pool: 'a', state: 'subscribing' })).toBe(0);
    expect(pool.authorizedWorkers().sort()).toEqual(['tester.farm.sup-0.l3', 'tester.farm.sup-0.lt5']);

    pool.setDifficulty(0.004);
    const t2 = await waitFor(
      'the new difficulty on both devices',
      async () => {
        const t = await metrics();
        return DEVICES.every((d) => metricValue(t, 'minefleet_miner_difficulty', { device: d, pool: 'a' }) === 0.004) ? t : null;
      },
      30_000,
      100,
    );
    // Every share on regtest is a block candidate too (its target is far above the share's).
    await waitFor(
      'blocks found by both devices',
      async () => {
        const t = await metrics();
        return DEVICES.every((d) => (metricValue(t, 'minefleet_miner_blocks_found_total', { device: d, pool: 'a' }) ?? 0) > 0);
      },
      60_000,
      100,
    );
    // What the collector stores per device and for the pod.
    const r = parseMinerMetrics(t2);
    for (const d of DEVICES) expect(r.devices!.get(d)).toMatchObject({ up: true, activePool: 'a', difficulty: 0.004, connectionState: 'authorized' });
    expect(r).toMatchObject({ activePool: 'a', difficulty: 0.004, connectionState: 'authorized' });
  });

  it('the pool stops: disconnected (and a reconnect counted); it comes back: authorized again', async () => {
    await pool.stop();
    const t = await waitFor(
      'both devices disconnected',
      async () => {
        const x = await metrics();
        return DEVICES.every((d) => state(x, d).join() === 'disconnected') ? x : null;
      },
      30_000,
      100,
    );
    for (const d of DEVICES) {
      expect(metricValue(t, 'minefleet_miner_pool_connection_state', { device: d, pool: 'a', state: 'authorized' })).toBe(0);
      expect(metricValue(t, 'minefleet_miner_active_pool', { device: d, pool: 'a' })).toBe(0);
      // cgminer keeps the last difficulty the pool set.
      expect(metricValue(t, 'minefleet_miner_difficulty', { device: d, pool: 'a' })).toBe(0.004);
      expect(metricValue(t, 'minefleet_miner_reconnects_total', { device: d, pool: 'a', reason: 'get_failures' })).toBeGreaterThanOrEqual(1);
    }
    const r = parseMinerMetrics(t);
    for (const d of DEVICES) expect(r.devices!.get(d)!.connectionState).toBe('disconnected');
    expect(r.connectionState).toBe('disconnected');

    pool = await startStratumPool({ litecoind: ltc, difficulty: 0.002, port: poolPort });
    await waitFor(
      'both devices authorized again at the new difficulty',
      async () => {
        const x = await metrics();
        return DEVICES.every((d) => state(x, d).join() === 'authorized' && metricValue(x, 'minefleet_miner_difficulty', { device: d, pool: 'a' }) === 0.002);
      },
      60_000,
      100,
    );
    expect(sup.stdout()).not.toContain(POOL_PASSWORD);
  });

  it("the operator's collector stores each device's difficulty and connection state in its samples (FerretDB)", async () => {
    const fdb = process.env.MONGODB_URI ? undefined : await startFerretDB();
    const spill = tempDir('pool-state');
    const { store } = await openStore({ uri: process.env.MONGODB_URI ?? fdb!.uri, dbName: uniqueDbName('poolstate'), buffer: { spillDir: spill.dir } });
    try {
      // The collector's informers are never started (no API server here): their caches hold the
      // supervisor pod and its fleet; the status write fails and is retried, which is all it does.
      const { rest, pods, fleets } = await offlineCollectorCaches();
      fleets.store.upsert({
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: 'farm', namespace: 'mining', uid: 'f-1', resourceVersion: '1' },
        spec: { device: { kind: 'network' } },
      });
      pods.store.upsert({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'sup-0', namespace: 'mining', uid: 'p-1', resourceVersion: '1', labels: { 'minefleet.io/fleet': 'farm' } },
        spec: { metricsPort: metricsPort },
        status: { podIP: '127.0.0.1', ready: true },
      });
      const collector = new Collector({
        rest,
        pods,
        fleets,
        fleetResource: MinerFleets,
        store,
        registry: new Registry(),
        logger: pino({ level: 'silent' }),
        intervalMs: 200,
        windowSeconds: 1,
        concurrency: 2,
        timeoutMs: 2_000,
        defaultMetricsPort: 9100,
        isLeader: () => true,
      });
      const rows = async () =>
        (await store.database().collection(store.names.samples).find({ namespace: 'mining', fleet: 'farm' }).toArray()) as unknown as SampleDoc[];
      const got = await waitFor(
        'a sample of each device at difficulty 0.002, authorized',
        async () => {
          await collector.cycle();
          await store.flush(10_000);
          const rs = await rows();
          return DEVICES.every((d) => rs.some((r) => r.deviceName === d && r.difficulty === 0.002 && r.connectionState === 'authorized')) ? rs : null;
        },
        30_000,
        300,
      );
      // cgminer reports no job age: the device rows have none rather than a made-up 0.
      expect(got.every((r) => r.pool === 'a' && r.device?.kind === 'network' && r.jobAgeSeconds === undefined)).toBe(true);
      await collector.stop();
    } finally {
      await store.close({ flushTimeoutMs: 0 });
      await fdb?.stop();
      spill.remove();
    }
  });
});

describe('Supervisor: a device that falls over by itself is a local fallback', () => {
  const log = createLogger('error', { component: 'supervisor-fallback-test' });
  let a: StratumPool;
  let b: StratumPool;
  let asic: EmulatedAsic;
  let api: AsicApiServer;
  let supervisor: Supervisor;
  afterAll(async () => {
    await supervisor?.stop();
    await api?.stop();
    await asic?.stop();
    await a?.stop();
    await b?.stop();
  });

  it('counts pool_fallbacks_total{reason="device"} and sets local_fallback until the fleet decides the same pool', async () => {
    [a, b] = await Promise.all([startStratumPool({ difficulty: 0.002 }), startStratumPool({ difficulty: 0.002 })]);
    const model = modelById('antminer-l7')!;
    asic = new EmulatedAsic({ model, hashrate: 200, ambientCelsius: 25, poolDeadMs: 1000, log });
    api = new AsicApiServer(asic, { host: '127.0.0.1', port: 0, quirks: model.quirks, allowPrivileged: true });
    const port = await api.start();
    const metrics = new SupervisorMetrics();
    let active = 'a';
    const want = (): WantedState => ({
      pools: [
        { name: 'a', url: a.url, user: 'farm.l7', password: 'x' },
        { name: 'b', url: b.url, user: 'farm.l7', password: 'x' },
      ],
      activePool: active,
      suspended: false,
    });
    supervisor = new Supervisor({
      devices: [{ name: 'l7', host: '127.0.0.1', port }],
      pollIntervalMs: 200,
      requestTimeoutMs: 5000,
      log,
      metrics,
      wanted: want,
    });
    supervisor.start();
    const text = () => metrics.registry.metrics();
    await waitFor('on a, no fallback', async () => {
      const t = await text();
      return (
        metricValue(t, 'minefleet_miner_active_pool', { device: 'l7', pool: 'a' }) === 1 &&
        metricValue(t, 'minefleet_miner_local_fallback', { device: 'l7' }) === 0
      );
    });
    await a.stop();
    const t = await waitFor(
      'the device on b by itself',
      async () => {
        const x = await text();
        return metricValue(x, 'minefleet_miner_local_fallback', { device: 'l7' }) === 1 ? x : null;
      },
      30_000,
      50,
    );
    expect(metricValue(t, 'minefleet_miner_active_pool', { device: 'l7', pool: 'b' })).toBe(1);
    expect(metricValue(t, 'minefleet_miner_pool_fallbacks_total', { device: 'l7', from: 'a', to: 'b', reason: 'device' })).toBe(1);
    expect(metricValue(t, 'minefleet_miner_pool_switches_total', { device: 'l7', from: 'a', to: 'b', cause: 'device' })).toBe(1);
    // The fleet decides b too: no longer a local fallback.
    active = 'b';
    supervisor.kickAll();
    await waitFor('fallback over', async () => metricValue(await text(), 'minefleet_miner_local_fallback', { device: 'l7' }) === 0, 10_000, 50);
  });
});
