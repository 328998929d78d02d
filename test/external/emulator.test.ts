/**
 * The emulated ASIC against real test pools and our cgminer client: it really mines (the pool
 * checks every share's scrypt hash), privileged commands change what it does, both API formats
 * work, and overheating throttles it.
 */
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgminerClient } from '../../miner/src/external/client.js';
import { AsicApiServer } from '../../miner/src/external/emulator/api-server.js';
import { EmulatedAsic } from '../../miner/src/external/emulator/asic.js';
import { modelById } from '../../miner/src/external/models.js';
import { planActions, type WantedState } from '../../miner/src/external/plan.js';
import { parseReply } from '../../miner/src/external/reply.js';
import { buildSnapshot, parsePools, parseSensors } from '../../miner/src/external/snapshot.js';
import { createLogger } from '../../miner/src/log.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { waitFor } from '../miner/helpers.js';

const log = createLogger('warn', { component: 'emulator-test' });

async function emulator(model: string, opts: { ambient?: number; tau?: number; privileged?: boolean; saveFile?: string; hashrate?: number } = {}) {
  const m = modelById(model)!;
  const asic = new EmulatedAsic({
    model: m,
    hashrate: opts.hashrate ?? 400,
    ambientCelsius: opts.ambient ?? 25,
    tauSeconds: opts.tau ?? 5,
    poolDeadMs: 2000,
    log,
  });
  const api = new AsicApiServer(asic, {
    host: '127.0.0.1',
    port: 0,
    quirks: m.quirks,
    allowPrivileged: opts.privileged ?? true,
    ...(opts.saveFile ? { saveFile: opts.saveFile } : {}),
  });
  const port = await api.start();
  const client = new CgminerClient({ host: '127.0.0.1', port, timeoutMs: 5000 });
  return {
    asic,
    api,
    port,
    client,
    model: m,
    stop: async () => {
      await api.stop();
      await asic.stop();
    },
  };
}

function rawPlain(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(command));
    let out = '';
    s.setEncoding('utf8').on('data', (c: string) => (out += c));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

describe('emulate-asic', () => {
  let a: StratumPool;
  let b: StratumPool;
  const stops: Array<() => Promise<void>> = [];
  const dir = mkdtempSync(join(tmpdir(), 'emu-test-'));
  beforeAll(async () => {
    [a, b] = await Promise.all([startStratumPool({ difficulty: 0.002 }), startStratumPool({ difficulty: 0.002 })]);
  });
  afterAll(async () => {
    for (const s of stops) await s();
    await a?.stop();
    await b?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const accepted = (p: StratumPool, worker: string, after = 0) =>
    p.shares.filter((s) => s.worker === worker && s.result === 'accepted' && s.receivedAt >= after).length;

  it('mines real shares on the pools the API gives it; switchpool, asc disable/enable and restart act', async () => {
    const e = await emulator('antminer-l3plus', { saveFile: join(dir, 'l3.json') });
    stops.push(e.stop);
    expect((await e.client.pools()).POOLS).toEqual([]);
    await e.client.addPool(a.url, 'farm.l3', 'pw-a');
    await e.client.addPool(b.url, 'farm.l3', 'pw-b');
    await waitFor('accepted shares at pool a', () => accepted(a, 'farm.l3') >= 3, 60_000);
    expect(a.logins.some((l) => l.worker === 'farm.l3' && l.password === 'pw-a')).toBe(true);

    // Rates are in the model's units ("GHS" keys carrying MH/s); normalised they are the real H/s.
    const snap = await waitFor('a 5 s rate', async () => {
      const s = buildSnapshot({
        model: e.model,
        summary: await e.client.summary(),
        pools: await e.client.pools(),
        devs: await e.client.devs(),
        stats: await e.client.stats(),
      });
      return s.rate5s > 0 ? s : null;
    });
    expect(snap.rate5s).toBeGreaterThan(50);
    expect(snap.rate5s).toBeLessThan(2000);
    expect(snap.pools.find((p) => p.active)!.url).toBe(a.url);
    expect(snap.pools[0]!.accepted).toBeGreaterThan(0);
    // The pool's difficulty as cgminer reports it (its mining.set_difficulty), and the share fields.
    expect(snap.pools[0]!.difficulty).toBe(0.002);
    const p0 = (await e.client.pools()).POOLS![0]!;
    expect(p0).toMatchObject({ 'Stratum Difficulty': 0.002, 'Last Share Difficulty': 0.002, 'Has Stratum': true, 'Get Failures': 0 });
    expect(p0['Last Share Time']).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(p0['Difficulty Accepted']).toBeCloseTo(0.002 * (p0.Accepted as number));
    expect(snap.units).toHaveLength(4);
    expect(snap.temperatures.length).toBeGreaterThanOrEqual(4);
    expect(snap.fans.length).toBe(2);
    expect(snap.powerWatts).toBeGreaterThan(e.model.wattsIdle);

    const t0 = Date.now();
    await e.client.switchPool(1);
    await waitFor('shares at pool b after switchpool', () => accepted(b, 'farm.l3', t0) >= 2, 60_000);
    const pools = parseReply(await e.client.rawRequest('pools')).POOLS!;
    expect(pools.map((p) => [p.POOL, p.Priority, p['Stratum Active']])).toEqual([
      [0, 1, false],
      [1, 0, true],
    ]);
    // cgminer refuses to remove the pool in use.
    await expect(e.client.removePool(1)).rejects.toThrow(/STATUS=E .*Cannot remove active pool 1/);

    for (let i = 0; i < 4; i++) await e.client.ascDisable(i);
    const devs = await e.client.devs();
    expect(devs.DEVS!.every((d) => d.Enabled === 'N')).toBe(true);
    await waitFor(
      'hashrate 0 while every chain is disabled',
      async () => {
        const s = await e.client.summary();
        return s.SUMMARY![0]!['GHS 5s'] === 0;
      },
      30_000,
    );
    const idle = parseSensors(await e.client.stats(), e.model);
    const sharesWhileOff = accepted(b, 'farm.l3');
    await waitFor('power falls toward idle', async () => (parseSensors(await e.client.stats(), e.model).powerWatts ?? 1e9) < e.model.wattsIdle + 1, 30_000);
    expect(idle.chains.every((c) => c.rate === 0)).toBe(true);
    expect(accepted(b, 'farm.l3')).toBeLessThanOrEqual(sharesWhileOff + 2); // in-flight submits only
    await e.client.ascEnable(0);
    const t1 = Date.now();
    await waitFor('shares again after ascenable', () => accepted(b, 'farm.l3', t1) >= 1, 60_000);
    await expect(e.client.ascEnable(9)).rejects.toThrow(/Invalid device id 9/);
    await expect(e.client.pgaEnable(0)).rejects.toThrow(/No PGAs/);

    await e.client.save();
    const saved = JSON.parse(readFileSync(join(dir, 'l3.json'), 'utf8')) as { pools: Array<{ url: string }> };
    expect(saved.pools.map((p) => p.url)).toEqual([a.url, b.url]);

    const before = (await e.client.summary()).SUMMARY![0]!.Accepted as number;
    expect(before).toBeGreaterThan(3);
    await e.client.restart();
    await waitFor('counters reset by restart', async () => ((await e.client.summary()).SUMMARY![0]!.Accepted as number) < before, 10_000, 20);
    const after = Date.now();
    await waitFor('mining again after restart', () => accepted(b, 'farm.l3', after) >= 1, 60_000);
  });

  it('answers the plain | format and refuses privileged commands when read-only', async () => {
    const e = await emulator('goldshell-lt5', { privileged: false });
    stops.push(e.stop);
    const text = await rawPlain(e.port, 'summary');
    expect(text).toMatch(/^STATUS=S,When=\d+,Code=11,Msg=Summary,/);
    const r = parseReply(text);
    expect(r.SUMMARY![0]).toHaveProperty('MHS av');
    const devs = parseReply(await rawPlain(e.port, 'devs'));
    expect(devs.DEVS).toHaveLength(3);
    await expect(e.client.addPool(a.url, 'x', 'y')).rejects.toThrow("addpool: device answered STATUS=E (code 45): Access denied to 'addpool' command");
    await expect(e.client.request('version')).resolves.toHaveProperty('VERSION');
    await expect(e.client.rawRequest('nonsense').then((t) => parseReply(t).STATUS![0]!.Msg)).resolves.toBe('Invalid command');
  });

  it('fails over to the next pool by priority when its pool dies', async () => {
    const dead = await startStratumPool({ difficulty: 0.002 });
    const e = await emulator('antminer-l7', { hashrate: 300 });
    stops.push(e.stop);
    await e.client.addPool(dead.url, 'farm.l7', 'x');
    await e.client.addPool(a.url, 'farm.l7', 'x');
    await waitFor('shares at the first pool', () => accepted(dead, 'farm.l7') >= 1, 60_000);
    await dead.stop();
    const t0 = Date.now();
    await waitFor('shares at the second pool', () => accepted(a, 'farm.l7', t0) >= 1, 60_000);
    const pools = (await e.client.pools()).POOLS!;
    expect(pools[0]!.Status).toBe('Dead');
    expect(pools[1]!['Stratum Active']).toBe(true);
    // The same in the plain format: the dead pool keeps its last difficulty and counts the
    // interrupted connection; the one in use has the difficulty its pool set.
    const text = await rawPlain(e.port, 'pools');
    expect(text).toMatch(/\|POOL=0,URL=[^|]*,Status=Dead,[^|]*,Get Failures=1,[^|]*,Stratum Active=false,[^|]*,Stratum Difficulty=0\.002\|/);
    const plain = parsePools(parseReply(text));
    expect(plain.map((p) => [p.status, p.active, p.difficulty, p.getFailures])).toEqual([
      ['Dead', false, 0.002, 1],
      ['Alive', true, 0.002, 0],
    ]);
    // A switchpool to the dead pool does not bring it back: cgminer skips unusable pools.
    await e.client.switchPool(0);
    const after = (await e.client.pools()).POOLS!;
    expect(after.map((p) => [p.Priority, p.Status, p['Stratum Active']])).toEqual([
      [0, 'Dead', false],
      [1, 'Alive', true],
    ]);
  });

  it('disablepool: a disabled pool is not mined on and is skipped in failover; enablepool brings it back; config reports the fields', async () => {
    const c = await startStratumPool({ difficulty: 0.002 });
    const e = await emulator('antminer-l7', { hashrate: 300 });
    stops.push(e.stop);
    const w = 'farm.dis';
    await e.client.addPool(c.url, w, 'x'); // 0: mined on first
    await e.client.addPool(a.url, w, 'x'); // 1: next in the failover order, but disabled below
    await e.client.addPool(b.url, w, 'x'); // 2
    await waitFor('shares at the first pool', () => accepted(c, w) >= 1, 60_000);

    const cfg = (await e.client.config()).CONFIG![0]!;
    expect(cfg).toMatchObject({ 'ASC Count': 3, 'PGA Count': 0, 'GPU Count': 0, 'Pool Count': 3, Strategy: 'Failover', 'Device Code': 'ASC', OS: 'Linux' });
    expect(cfg['Log Interval']).toBeGreaterThan(0);

    const r = await e.client.disablePool(1);
    expect(r.STATUS![0]).toMatchObject({ STATUS: 'S', Code: 48 });
    const status = async () => ((await e.client.pools()).POOLS ?? []).map((p) => [p.Status, p['Stratum Active']]);
    expect(await status()).toEqual([
      ['Alive', true],
      ['Disabled', false],
      ['Alive', false],
    ]);
    // The first pool dies: the device skips the disabled pool 1 and fails over to pool 2.
    await c.stop();
    const t0 = Date.now();
    await waitFor('shares at pool b (the disabled pool a skipped)', () => accepted(b, w, t0) >= 1, 60_000);
    expect(await status()).toEqual([
      ['Dead', false],
      ['Disabled', false],
      ['Alive', true],
    ]);
    expect(a.logins.some((l) => l.worker === w)).toBe(false); // never even connected to the disabled pool
    expect(accepted(a, w)).toBe(0);

    // enablepool: pool 1 is in the failover order again, above pool 2, so the device moves to it.
    await e.client.enablePool(1);
    const t1 = Date.now();
    await waitFor('shares at pool a after enablepool', () => accepted(a, w, t1) >= 1, 60_000);
    expect((await status())[1]).toEqual(['Alive', true]);

    // Disabling the pool in use moves the device off it at once; a is then not mined on.
    await e.client.disablePool(1);
    const t2 = Date.now();
    await waitFor('shares at pool b after disabling the pool in use', () => accepted(b, w, t2) >= 1, 60_000);
    const onA = accepted(a, w);
    await waitFor('a few more shares at b', () => accepted(b, w, t2) >= 3, 60_000);
    expect(accepted(a, w)).toBeLessThanOrEqual(onA + 1); // an in-flight submit at most
    expect(await status()).toEqual([
      ['Dead', false],
      ['Disabled', false],
      ['Alive', true],
    ]);
    // cgminer keeps one enabled pool: the dead one may go, the last one may not.
    await e.client.disablePool(0);
    await expect(e.client.disablePool(2)).rejects.toThrow(/STATUS=E \(code 50\): Cannot disable last active pool/);
    await expect(e.client.enablePool(7)).rejects.toThrow(/Invalid pool id 7/);
    expect((await e.client.config()).CONFIG![0]!['Pool Count']).toBe(3);
  });

  it('a GPU rig (generic cgminer/sgminer): the planner pauses it with gpudisable and resumes it with gpuenable', async () => {
    const e = await emulator('generic', { hashrate: 300 });
    stops.push(e.stop);
    const w = 'farm.gpu';
    await e.client.addPool(a.url, w, 'x');
    await waitFor('shares from the GPU rig', () => accepted(a, w) >= 1, 60_000);
    expect((await e.client.config()).CONFIG![0]).toMatchObject({ 'GPU Count': 1, 'ASC Count': 0, 'PGA Count': 0, 'Device Code': 'GPU' });
    const snap = async () => buildSnapshot({ model: e.model, summary: await e.client.summary(), pools: await e.client.pools(), devs: await e.client.devs() });
    const want = (suspended: boolean): WantedState => ({ pools: [{ name: 'a', url: a.url, user: w, password: 'x' }], activePool: 'a', suspended });
    const s0 = await snap();
    expect(s0.units).toEqual([{ kind: 'GPU', id: 0, enabled: true, status: 'Alive' }]);

    // Suspend: what the supervisor would send, sent over the API.
    const pause = planActions(want(true), s0.pools, s0.units);
    expect(pause).toEqual([{ cmd: 'gpudisable', id: 0 }]);
    expect((await e.client.gpuDisable(0)).STATUS![0]).toMatchObject({ STATUS: 'S', Msg: 'GPU 0 set disable flag' });
    const s1 = await snap();
    expect(s1.units[0]!.enabled).toBe(false);
    expect(planActions(want(true), s1.pools, s1.units)).toEqual([]);
    await waitFor('the GPU reports 0 H/s', async () => (await snap()).rate5s === 0, 30_000);
    const off = accepted(a, w);
    await new Promise((r) => setTimeout(r, 3000));
    expect(accepted(a, w)).toBeLessThanOrEqual(off + 1); // in-flight submits only
    // The rig stays on its pool and reachable: only the GPU idles.
    expect((await snap()).pools[0]!.active).toBe(true);

    const resume = planActions(want(false), s1.pools, s1.units);
    expect(resume).toEqual([{ cmd: 'gpuenable', id: 0 }]);
    expect((await e.client.gpuEnable(0)).STATUS![0]).toMatchObject({ STATUS: 'S', Msg: 'GPU 0 sent enable message' });
    const t0 = Date.now();
    await waitFor('shares again after gpuenable', () => accepted(a, w, t0) >= 1, 60_000);
    await expect(e.client.gpuDisable(3)).rejects.toThrow(/Invalid device id 3/);
    await expect(e.client.ascDisable(0)).rejects.toThrow(/No ASCs/);
  });

  it('overheats in a hot room: the fan runs up, the firmware throttles and makes hardware errors', async () => {
    const e = await emulator('antminer-l3plus', { ambient: 60, tau: 0.3 });
    stops.push(e.stop);
    await e.client.addPool(a.url, 'farm.hot', 'x');
    const st = await waitFor(
      'throttling',
      async () => {
        const s = (await e.client.stats()).STATS![1]!;
        return (s.throttle as number) < 0.9 ? s : null;
      },
      60_000,
      250,
    );
    expect(st.fan1).toBeGreaterThan(5000);
    expect(st.temp1).toBeGreaterThan(e.model.throttleCelsius - 5);
    const sum = (await e.client.summary()).SUMMARY![0]!;
    expect(sum['Hardware Errors']).toBeGreaterThan(0);
  });
});
