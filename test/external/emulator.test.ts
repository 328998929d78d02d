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
