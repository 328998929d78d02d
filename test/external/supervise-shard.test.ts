/**
 * Sharded supervision (spec.device.network.targetsPerPod): two real `miner supervise` processes,
 * as two supervisor pods of one network fleet, share five emulated ASICs through the runtime
 * state's `deviceAssignments`. Each device is brought onto the pool by exactly its own pod (the
 * worker name carries the pod), a device moved to the other pod follows live and leaves the first
 * pod's metrics, and a pod the map leaves out drives nothing.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLitecoind, type Litecoind } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, POOL_PASSWORD, waitFor } from '../miner/helpers.js';
import { metricValue, startEmulators, startProc, type Proc } from './helpers.js';

const ASICS = ['asic-0', 'asic-1', 'asic-2', 'asic-3', 'asic-4'];
const PODS = ['sup-0', 'sup-1'] as const;
const worker = (pod: string, d: string) => `tester.farm.${pod}.${d}`;

describe('miner supervise: two supervisor pods share a farm without touching each other’s devices', () => {
  let ltc: Litecoind;
  let pool: StratumPool;
  let asics: Awaited<ReturnType<typeof startEmulators>>;
  const sups = new Map<string, { p: Proc; port: number }>();
  const dir = mkdtempSync(join(tmpdir(), 'supervise-shard-'));
  const runtimePath = join(dir, 'runtime.json');
  const setRuntime = (state: Record<string, unknown>) => {
    writeFileSync(runtimePath + '.tmp', JSON.stringify(state));
    renameSync(runtimePath + '.tmp', runtimePath);
  };
  const metrics = async (pod: string) => (await fetch(`http://127.0.0.1:${sups.get(pod)!.port}/metrics`)).text();
  const devicesIn = (text: string) => new Set([...text.matchAll(/device="([^"]+)"/g)].map((m) => m[1]!));
  const accepted = (pod: string, d: string, after: number) =>
    pool.shares.filter((s) => s.worker === worker(pod, d) && s.result === 'accepted' && s.receivedAt >= after).length;

  beforeAll(async () => {
    ltc = await startLitecoind();
    pool = await startStratumPool({ litecoind: ltc, difficulty: 0.002 });
    asics = await startEmulators(['--model', 'antminer-l3plus', '--hashrate', '200', '--pool-dead-seconds', '2'], ASICS.length);
  });
  afterAll(async () => {
    for (const s of sups.values()) await s.p.stop();
    await asics?.p.stop();
    await pool?.stop();
    await ltc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each device is driven by exactly its pod; a moved device follows live; a pod left out drives none', async () => {
    setRuntime({ activePool: 'a', revision: 1, deviceAssignments: { 'sup-0': ['asic-0', 'asic-1', 'asic-2'], 'sup-1': ['asic-3', 'asic-4'] } });
    // Both pods get the fleet's whole list (one config for the Deployment); the map picks their share.
    const cfg = baseConfig([poolEntry('a', pool.url)], 'a', {
      fleet: 'farm',
      runtime: { file: { path: runtimePath } },
      external: { devices: ASICS.map((name, i) => ({ name, host: '127.0.0.1', port: asics.ports[i]! })), pollIntervalSeconds: 1, requestTimeoutMs: 3000 },
    });
    const cfgPath = join(dir, 'miner.yaml');
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const t0 = Date.now();
    for (const pod of PODS) {
      const p = startProc(['supervise', '--config', cfgPath], { POOL_USER: 'tester', POOL_PASS: POOL_PASSWORD, POD_NAME: pod });
      const port = await waitFor('supervisor metrics server', () => {
        if (!p.alive()) throw new Error(`supervise exited: ${p.stderr()}`);
        return p.logs.find((l) => l.msg === 'metrics server listening')?.port as number | undefined;
      });
      sups.set(pod, { p, port });
    }
    const owner = (d: string) => (['asic-0', 'asic-1', 'asic-2'].includes(d) ? 'sup-0' : 'sup-1');
    await waitFor('every device has accepted shares from its own pod', () => ASICS.every((d) => accepted(owner(d), d, t0) >= 2), 120_000, 100);
    console.log(
      `sharded farm: ${ASICS.length} devices on 2 supervisor pods (3 + 2), all mining on the pool ${((Date.now() - t0) / 1000).toFixed(1)} s after start`,
    );
    // Never the other pod's worker on any device: nobody fought over a device.
    for (const d of ASICS) expect(pool.shares.filter((s) => s.worker === worker(owner(d) === 'sup-0' ? 'sup-1' : 'sup-0', d))).toEqual([]);
    expect([...devicesIn(await metrics('sup-0'))].sort()).toEqual(['asic-0', 'asic-1', 'asic-2']);
    expect([...devicesIn(await metrics('sup-1'))].sort()).toEqual(['asic-3', 'asic-4']);

    // asic-2 moves to sup-1 (a pod went away or a new one came): sup-1 brings it onto its own
    // worker, sup-0 stops driving it and drops its series.
    const t1 = Date.now();
    setRuntime({ activePool: 'a', revision: 2, deviceAssignments: { 'sup-0': ['asic-0', 'asic-1'], 'sup-1': ['asic-2', 'asic-3', 'asic-4'] } });
    await waitFor('asic-2 mining for sup-1', () => accepted('sup-1', 'asic-2', t1) >= 2, 60_000, 100);
    console.log(`sharded farm: a device moved between pods mines under its new pod ${((Date.now() - t1) / 1000).toFixed(1)} s after the runtime change`);
    await waitFor('asic-2 gone from sup-0 metrics', async () => !devicesIn(await metrics('sup-0')).has('asic-2'), 10_000, 100);
    expect(sups.get('sup-0')!.p.logs.some((l) => l.msg.includes('no longer assigned') && l.device === 'asic-2')).toBe(true);
    expect(metricValue(await metrics('sup-1'), 'minefleet_miner_device_up', { device: 'asic-2' })).toBe(1);
    // sup-0 sends asic-2 nothing more: its old worker's shares stop (the device mines for sup-1 now).
    const settle = Date.now() + 3000;
    await waitFor('a few seconds with asic-2 on sup-1', () => Date.now() > settle, 10_000, 200);
    expect(accepted('sup-0', 'asic-2', settle)).toBe(0);
    expect(accepted('sup-1', 'asic-2', settle - 3000)).toBeGreaterThan(0);

    // A map without sup-1 (its pod terminates, its devices not yet reassigned): it drives none,
    // exports no device, and is not ready.
    setRuntime({ activePool: 'a', revision: 3, deviceAssignments: { 'sup-0': ['asic-0', 'asic-1'] } });
    await waitFor('sup-1 exports no device', async () => devicesIn(await metrics('sup-1')).size === 0, 10_000, 100);
    const ready = await fetch(`http://127.0.0.1:${sups.get('sup-1')!.port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('no device assigned to this pod');
    expect([...devicesIn(await metrics('sup-0'))].sort()).toEqual(['asic-0', 'asic-1']);
  });
});
