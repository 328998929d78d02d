/**
 * `miner supervise` against a farm of real processes: five emulated Antminer L3+ (networked
 * ASICs) and one emulated USB stick (the sidecar case: one device on localhost), all mining on
 * litecoind-fed test pools, plus three broken devices (random bytes, a 10 MiB reply, a socket
 * that never answers). The supervisor gets the fleet's decision through the same runtime.json
 * channel as the CPU miner.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgminerClient } from '../../miner/src/external/client.js';
import { startLitecoind, type Litecoind } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, POOL_PASSWORD, waitFor } from '../miner/helpers.js';
import { metricValue, startEmulators, startProc, type Proc } from './helpers.js';

const ASICS = ['asic-0', 'asic-1', 'asic-2', 'asic-3', 'asic-4'];
const DEVICES = [...ASICS, 'usb-0'];
const worker = (d: string) => `tester.farm.sup-0.${d}`;

function garbageServer(kind: 'random' | 'huge' | 'silent'): Promise<{ server: net.Server; port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
    if (kind === 'random') s.end(randomBytes(4096));
    else if (kind === 'huge') {
      const chunk = Buffer.alloc(1024 * 1024, '{"STATUS":[');
      let sent = 0;
      const pump = () => {
        while (sent < 10 && !s.destroyed) {
          sent++;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    }
    // silent: accept and never answer
  });
  const close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      sockets.forEach((s) => s.destroy());
    });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port, close })));
}

describe('miner supervise: a farm of emulated ASICs', () => {
  let ltc: Litecoind;
  let a: StratumPool;
  let b: StratumPool;
  let stray: StratumPool;
  let bStopped = false;
  let asics: Awaited<ReturnType<typeof startEmulators>>;
  let usb: Awaited<ReturnType<typeof startEmulators>>;
  let sup: Proc;
  let metricsPort = 0;
  const garbage: Array<{ server: net.Server; port: number; close: () => Promise<void> }> = [];
  const dir = mkdtempSync(join(tmpdir(), 'supervise-it-'));
  const runtimePath = join(dir, 'runtime.json');
  const setRuntime = (state: Record<string, unknown>) => {
    writeFileSync(runtimePath + '.tmp', JSON.stringify(state));
    renameSync(runtimePath + '.tmp', runtimePath);
  };
  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const accepted = (p: StratumPool, d: string, after: number) =>
    p.shares.filter((s) => s.worker === worker(d) && s.result === 'accepted' && s.receivedAt >= after).length;
  const clientFor = (d: string) => {
    const port = d === 'usb-0' ? usb.ports[0]! : asics.ports[ASICS.indexOf(d)]!;
    return new CgminerClient({ host: '127.0.0.1', port });
  };
  const figures = { push: (line: string) => console.log(`emulated farm: ${line}`) };

  beforeAll(async () => {
    ltc = await startLitecoind();
    [a, b, stray] = await Promise.all([
      startStratumPool({ litecoind: ltc, difficulty: 0.002 }),
      startStratumPool({ litecoind: ltc, difficulty: 0.002 }),
      startStratumPool({ difficulty: 0.002 }),
    ]);
    // The ASICs come with a pool of their own (a previous owner's); the supervisor replaces it.
    asics = await startEmulators(
      ['--model', 'antminer-l3plus', '--hashrate', '200', '--pool-dead-seconds', '2', '--pool', stray.url, '--user', 'old.owner'],
      5,
      { MINEFLEET_EMU_POOL_PASSWORD: 'old-pass' },
    );
    usb = await startEmulators(['--model', 'usb-stick', '--hashrate', '150', '--pool-dead-seconds', '2'], 1);
    for (const k of ['random', 'huge', 'silent'] as const) garbage.push(await garbageServer(k));
  });
  afterAll(async () => {
    await sup?.stop();
    await asics?.p.stop();
    await usb?.p.stop();
    for (const g of garbage) await g.close();
    await Promise.all([a?.stop(), bStopped ? undefined : b?.stop(), stray?.stop()]);
    await ltc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings every device onto the fleet pool, exports normalised metrics, survives garbage devices', async () => {
    setRuntime({ activePool: 'a', revision: 1 });
    const cfg = baseConfig([poolEntry('a', a.url), poolEntry('b', b.url)], 'b', {
      fleet: 'farm',
      pod: 'sup-0',
      runtime: { file: { path: runtimePath } },
      external: {
        devices: [
          ...ASICS.map((name, i) => ({ name, host: '127.0.0.1', port: asics.ports[i]! })),
          { name: 'usb-0', host: '127.0.0.1', port: usb.ports[0]!, model: 'usb-stick' },
          { name: 'garbage-random', host: '127.0.0.1', port: garbage[0]!.port },
          { name: 'garbage-huge', host: '127.0.0.1', port: garbage[1]!.port },
          { name: 'garbage-silent', host: '127.0.0.1', port: garbage[2]!.port },
        ],
        pollIntervalSeconds: 1,
        requestTimeoutMs: 5000,
      },
    });
    const cfgPath = join(dir, 'miner.yaml');
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const t0 = Date.now();
    sup = startProc(['supervise', '--config', cfgPath], { POOL_USER: 'tester', POOL_PASS: POOL_PASSWORD });
    metricsPort = await waitFor('supervisor metrics server', () => {
      if (!sup.alive()) throw new Error(`supervise exited: ${sup.stderr()}`);
      return sup.logs.find((l) => l.msg === 'metrics server listening')?.port as number | undefined;
    });
    // The runtime state (a) overrides the static activePool (b) for every device.
    await waitFor('every device has accepted shares at pool a', () => DEVICES.every((d) => accepted(a, d, t0) >= 1), 120_000, 100);
    figures.push(
      `${DEVICES.length} devices (5 x antminer-l3plus @ 200 H/s nominal, 1 x usb-stick @ 150 H/s) + 3 broken devices; all mining on the fleet pool ${((Date.now() - t0) / 1000).toFixed(1)} s after supervisor start`,
    );
    // Credentials applied per device; the stray pool is gone from every ASIC.
    for (const d of DEVICES) expect(a.logins.some((l) => l.worker === worker(d) && l.password === POOL_PASSWORD)).toBe(true);
    await waitFor(
      'stray pools removed',
      async () => {
        for (const d of ASICS) {
          const urls = ((await clientFor(d).pools()).POOLS ?? []).map((p) => p.URL);
          if (urls.sort().join() !== [a.url, b.url].sort().join()) return false;
        }
        return true;
      },
      60_000,
    );

    const text = await waitFor(
      'hashrate, pool and sensor metrics for every device',
      async () => {
        const t = await metrics();
        const has = (name: string, d: string, l: Record<string, string> = {}) => (metricValue(t, name, { device: d, ...l }) ?? 0) > 0;
        return DEVICES.every(
          (d) =>
            has('minefleet_miner_hashrate_hashes_per_second', d, { window: '5s' }) &&
            has('minefleet_miner_active_pool', d, { pool: 'a' }) &&
            has('minefleet_miner_device_up', d) &&
            has('minefleet_miner_device_temperature_celsius', d),
        )
          ? t
          : null;
      },
      60_000,
    );
    const rates: string[] = [];
    for (const d of DEVICES) {
      const r = metricValue(text, 'minefleet_miner_hashrate_hashes_per_second', { device: d, window: '5s' })!;
      rates.push(`${d} ${r.toFixed(0)} H/s`);
      // "GHS 5s" carries MH/s on the L3+: normalised, the rate is the emulator's real H/s, not 1000x.
      expect(r).toBeGreaterThan(10);
      expect(r).toBeLessThan(2000);
      expect(metricValue(text, 'minefleet_miner_active_pool', { device: d, pool: 'a' })).toBe(1);
      expect(metricValue(text, 'minefleet_miner_device_up', { device: d })).toBe(1);
      expect(metricValue(text, 'minefleet_miner_device_temperature_celsius', { device: d })).toBeGreaterThan(0);
      expect(metricValue(text, 'minefleet_miner_device_fan_rpm', { device: d })).toBeGreaterThan(0);
      expect(metricValue(text, 'minefleet_miner_device_power_watts', { device: d })).toBeGreaterThan(0);
      expect(metricValue(text, 'minefleet_miner_device_chain_hashrate_hashes_per_second', { device: d })).toBeGreaterThanOrEqual(0);
    }
    figures.push(`hashrate per device (5 s window, normalised): ${rates.join(', ')}`);
    // The silent device fails only once its request timeout has passed: wait for that too.
    const t2 = await waitFor(
      'accepted shares and every broken device counted in metrics',
      async () => {
        const t = await metrics();
        const errs = (device: string, kind: string) => metricValue(t, 'minefleet_miner_device_api_errors_total', { device, kind }) ?? 0;
        return DEVICES.every((d) => (metricValue(t, 'minefleet_miner_shares_total', { device: d, pool: 'a', result: 'accepted' }) ?? 0) >= 1) &&
          errs('garbage-random', 'malformed') > 0 &&
          errs('garbage-huge', 'too_large') > 0 &&
          errs('garbage-silent', 'timeout') > 0
          ? t
          : null;
      },
      60_000,
    );
    // Broken devices: down, each failure of its own kind, and they did not hold anyone back.
    expect(metricValue(t2, 'minefleet_miner_device_up', { device: 'garbage-random' })).toBe(0);
    expect(metricValue(t2, 'minefleet_miner_device_api_errors_total', { device: 'garbage-random', kind: 'malformed' })).toBeGreaterThan(0);
    expect(metricValue(t2, 'minefleet_miner_device_api_errors_total', { device: 'garbage-huge', kind: 'too_large' })).toBeGreaterThan(0);
    expect(metricValue(t2, 'minefleet_miner_device_api_errors_total', { device: 'garbage-silent', kind: 'timeout' })).toBeGreaterThan(0);
    expect(sup.alive()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
  });

  it('a fleet pool switch moves every device', async () => {
    const t0 = Date.now();
    setRuntime({ activePool: 'b', revision: 2 });
    await waitFor('every device authorized at b', () => DEVICES.every((d) => b.authorizedWorkers().includes(worker(d))), 60_000, 20);
    const follow = Date.now() - t0;
    const switchLogs = sup.logs.filter(
      (l) => l.msg === 'device command applied' && String(l.action).startsWith('switchpool') && Date.parse(String(l.time)) >= t0,
    );
    const lastSwitchCmd = Math.max(...switchLogs.map((l) => Date.parse(String(l.time)))) - t0;
    await waitFor('every device has accepted shares at b', () => DEVICES.every((d) => accepted(b, d, t0) >= 1), 120_000, 50);
    figures.push(
      `fleet pool switch a -> b (runtime.json): switchpool sent to the last device after ${lastSwitchCmd} ms, all ${DEVICES.length} devices authorized at b after ${follow} ms, all with accepted shares at b after ${Date.now() - t0} ms`,
    );
    const text = await metrics();
    for (const d of DEVICES) expect(metricValue(text, 'minefleet_miner_pool_switches_total', { device: d, from: 'a', to: 'b', cause: 'runtime' })).toBe(1);
  });

  it('a dead pool moves every device to the next fleet pool, and the fleet decision keeps them there', async () => {
    await b.stop();
    bStopped = true;
    const t0 = Date.now();
    await waitFor('every device authorized at a again', () => DEVICES.every((d) => a.authorizedWorkers().includes(worker(d))), 60_000, 20);
    const moved = Date.now() - t0;
    // The fleet's decision follows (the pools controller publishes it); nothing flaps.
    setRuntime({ activePool: 'a', revision: 3 });
    await waitFor('accepted shares at a after the failure', () => DEVICES.every((d) => accepted(a, d, t0) >= 1), 120_000, 50);
    figures.push(`pool b killed: all ${DEVICES.length} devices mining at a after ${moved} ms (device failover after 2 s dead + reconnect)`);
    await waitFor(
      'metrics show every device on a',
      async () => {
        const text = await metrics();
        return DEVICES.every((d) => metricValue(text, 'minefleet_miner_active_pool', { device: d, pool: 'a' }) === 1);
      },
      60_000,
    );
  });

  it('suspended in the runtime state pauses every device; resume starts them again', async () => {
    setRuntime({ activePool: 'a', revision: 4, suspended: true });
    await waitFor(
      'every device suspended',
      async () => {
        const t = await metrics();
        return DEVICES.every((d) => metricValue(t, 'minefleet_miner_device_suspended', { device: d }) === 1);
      },
      60_000,
    );
    for (const d of DEVICES) {
      const devs = (await clientFor(d).devs()).DEVS!;
      expect(devs.length).toBeGreaterThan(0);
      expect(devs.every((u) => u.Enabled === 'N')).toBe(true);
    }
    await waitFor(
      'every device reports 0 H/s',
      async () => {
        for (const d of DEVICES) {
          const s = (await clientFor(d).summary()).SUMMARY![0]!;
          const rate = Object.entries(s).find(([k]) => k.endsWith(' 5s'))?.[1];
          if (rate !== 0) return false;
        }
        return true;
      },
      60_000,
    );
    const t0 = Date.now();
    setRuntime({ activePool: 'a', revision: 5, suspended: false });
    await waitFor('accepted shares from every device after resume', () => DEVICES.every((d) => accepted(a, d, t0) >= 1), 120_000, 50);
    figures.push(`suspend/resume via runtime.json suspended flag: all devices hashing again, first shares within ${Date.now() - t0} ms`);
  });

  it('never leaks the pool password into logs or metrics', async () => {
    const text = await metrics();
    expect(text).not.toContain(POOL_PASSWORD);
    expect(sup.stdout()).not.toContain(POOL_PASSWORD);
    expect(sup.stderr()).not.toContain(POOL_PASSWORD);
    expect(sup.logs.some((l) => l.msg === 'device command applied' && String(l.action).startsWith('addpool a'))).toBe(true);
  });
});
