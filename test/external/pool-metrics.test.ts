/**
 * Unit tests: the pool gauges `miner supervise` derives from a device's `pools` reply (share
 * difficulty, connection state, reconnects) under the CPU miner's names, labels and encoding plus
 * `device`; no series where a device reports nothing; and how the collector reads them per device
 * and per pod.
 */
import { describe, expect, it } from 'vitest';
import { SupervisorMetrics } from '../../miner/src/external/metrics.js';
import { modelById } from '../../miner/src/external/models.js';
import { devicePoolState } from '../../miner/src/external/pool-state.js';
import { parseReply } from '../../miner/src/external/reply.js';
import { buildSnapshot, parsePools, type DevicePool, type DeviceSnapshot } from '../../miner/src/external/snapshot.js';
import { CONNECTION_STATES } from '../../miner/src/stratum/client.js';
import { parseMinerMetrics } from '../../operator/src/collector/exposition.js';
import { WindowAccumulator } from '../../operator/src/collector/windows.js';
import { metricValue } from './helpers.js';

const OK = (code: number, msg: string) => `"STATUS":[{"STATUS":"S","When":1,"Code":${code},"Msg":"${msg}","Description":"cgminer 4.11.1"}]`;
const L3 = modelById('antminer-l3plus')!;
const URL_A = 'stratum+tcp://127.0.0.1:3333';
const URL_B = 'stratum+tcp://127.0.0.1:3334';

type PoolRec = Record<string, unknown>;
const poolRec = (o: PoolRec): PoolRec => ({ POOL: 0, URL: URL_A, User: 'u.w', Status: 'Alive', Priority: 0, Accepted: 0, Rejected: 0, Stale: 0, ...o });

function snap(pools: PoolRec[], summary: Record<string, unknown> = {}): DeviceSnapshot {
  return buildSnapshot({
    model: L3,
    summary: parseReply(
      `{${OK(11, 'Summary')},"SUMMARY":[${JSON.stringify({ Elapsed: 100, 'GHS 5s': 0.0002, Accepted: 0, 'Hardware Errors': 0, ...summary })}]}`,
    ),
    pools: parseReply(`{${OK(7, `${pools.length} Pool(s)`)},"POOLS":${JSON.stringify(pools)}}`),
    devs: parseReply(`{${OK(9, '1 ASC(s)')},"DEVS":[{"ASC":0,"Enabled":"Y","Status":"Alive"}]}`),
  });
}

const namer = (url: string) => (url === URL_A ? 'a' : url === URL_B ? 'b' : 'other');

describe('pools reply: difficulty, Stratum Active, Get Failures', () => {
  it('reads "Stratum Difficulty", else "Work Difficulty", else "Last Share Difficulty"; none positive is undefined', () => {
    const pools = parsePools(
      parseReply(
        `{${OK(7, '4 Pool(s)')},"POOLS":${JSON.stringify([
          poolRec({ POOL: 0, 'Stratum Difficulty': 0.002, 'Work Difficulty': 0.5, 'Last Share Difficulty': 0.25, 'Stratum Active': true, 'Get Failures': 3 }),
          poolRec({ POOL: 1, 'Stratum Difficulty': 0, 'Work Difficulty': 0.5, 'Last Share Difficulty': 0.25, 'Stratum Active': false }),
          poolRec({ POOL: 2, 'Stratum Difficulty': 0, 'Last Share Difficulty': 0.25 }),
          poolRec({ POOL: 3 }),
        ])}}`,
      ),
    );
    expect(pools.map((p) => p.difficulty)).toEqual([0.002, 0.5, 0.25, undefined]);
    expect(pools.map((p) => p.reportsActive)).toEqual([true, true, undefined, undefined]);
    expect(pools.map((p) => p.getFailures)).toEqual([3, undefined, undefined, undefined]);
  });

  it('reads the same from the plain | format (values are text there; inf/nan are no difficulty)', () => {
    const text =
      'STATUS=S,When=1,Code=7,Msg=2 Pool(s),Description=cgminer 4.11.1|' +
      `POOL=0,URL=${URL_A},Status=Dead,Priority=0,Get Failures=2,User=u.w,Last Share Difficulty=0.004,Has Stratum=true,Stratum Active=false,Stratum URL=,Stratum Difficulty=0.004|` +
      `POOL=1,URL=${URL_B},Status=Alive,Priority=1,Get Failures=0,User=u.w,Stratum Active=true,Stratum URL=127.0.0.1:3334,Stratum Difficulty=nan|\0`;
    const pools = parsePools(parseReply(text));
    expect(pools.map((p) => [p.status, p.active, p.difficulty, p.getFailures])).toEqual([
      ['Dead', false, 0.004, 2],
      ['Alive', true, undefined, 0],
    ]);
  });
});

describe('device pool connection state (the CPU miner states)', () => {
  const p = (o: Partial<DevicePool>): DevicePool => ({
    id: 0,
    url: URL_A,
    user: 'u',
    status: 'Alive',
    priority: 0,
    active: false,
    accepted: 0,
    rejected: 0,
    stale: 0,
    reportsActive: true,
    ...o,
  });
  it('in use and Alive (or Rejecting) is authorized; Dead disconnected; Disabled stopped; next by priority connecting', () => {
    expect(devicePoolState([p({ active: true }), p({ id: 1, priority: 1 })])).toMatchObject({ pool: { id: 0 }, state: 'authorized' });
    expect(devicePoolState([p({ status: 'Rejecting', active: true })])?.state).toBe('authorized');
    // Mining on its backup: the one in use counts, not the higher-priority one.
    expect(devicePoolState([p({ status: 'Dead' }), p({ id: 1, priority: 1, active: true })])).toMatchObject({ pool: { id: 1 }, state: 'authorized' });
    // In use on none: the pool it tries next.
    expect(devicePoolState([p({ status: 'Dead' }), p({ id: 1, priority: 1 })])).toMatchObject({ pool: { id: 1 }, state: 'connecting' });
    expect(devicePoolState([p({ status: 'Disabled' }), p({ id: 1, priority: 1, status: 'Dead' })])).toMatchObject({ pool: { id: 1 }, state: 'disconnected' });
    expect(devicePoolState([p({ status: 'Disabled' })])?.state).toBe('stopped');
  });
  it('no state without a Stratum Active field, without pools, or with a Status it does not know', () => {
    expect(devicePoolState([p({ reportsActive: undefined, active: false })])).toBeUndefined();
    expect(devicePoolState([])).toBeUndefined();
    expect(devicePoolState([p({ status: 'Sick', active: true })])).toBeUndefined();
  });
});

describe('supervisor pool gauges', () => {
  it('exports difficulty and a one-hot connection state per device and pool, as the CPU miner encodes them', async () => {
    const m = new SupervisorMetrics(0);
    m.record(
      'asic-0',
      snap([
        poolRec({ 'Stratum Difficulty': 0.002, 'Stratum Active': true }),
        poolRec({ POOL: 1, URL: URL_B, Priority: 1, 'Stratum Difficulty': 0.004, 'Stratum Active': false }),
      ]),
      namer,
      ['a', 'b'],
      1000,
    );
    const text = await m.registry.metrics();
    expect(text).toContain('minefleet_miner_difficulty{device="asic-0",pool="a"} 0.002');
    expect(text).toContain('minefleet_miner_difficulty{device="asic-0",pool="b"} 0.004');
    expect(text).toContain('minefleet_miner_pool_connection_state{device="asic-0",pool="a",state="authorized"} 1');
    for (const s of CONNECTION_STATES.filter((x) => x !== 'authorized'))
      expect(text).toContain(`minefleet_miner_pool_connection_state{device="asic-0",pool="a",state="${s}"} 0`);
    // Only the pool in use has a connection state, as with the CPU miner.
    expect(metricValue(text, 'minefleet_miner_pool_connection_state', { device: 'asic-0', pool: 'b' })).toBeUndefined();
  });

  it('follows the device: pool dead, failed over, back; old series go; Get Failures become reconnects', async () => {
    const m = new SupervisorMetrics(0);
    const st = async (pool: string) => {
      const t = await m.registry.metrics();
      return CONNECTION_STATES.filter((s) => metricValue(t, 'minefleet_miner_pool_connection_state', { device: 'd', pool, state: s }) === 1);
    };
    // First sight of a device up 100 s while the supervisor was up 1 s: Get Failures is a baseline.
    m.record('d', snap([poolRec({ 'Stratum Active': true, 'Stratum Difficulty': 0.002, 'Get Failures': 5 })]), namer, ['a'], 1000);
    expect(await st('a')).toEqual(['authorized']);
    m.record('d', snap([poolRec({ Status: 'Dead', 'Stratum Active': false, 'Stratum Difficulty': 0.002, 'Get Failures': 6 })]), namer, ['a'], 2000);
    expect(await st('a')).toEqual(['disconnected']);
    let t = await m.registry.metrics();
    expect(metricValue(t, 'minefleet_miner_reconnects_total', { device: 'd', pool: 'a', reason: 'get_failures' })).toBe(1);
    // The device fell back to a stray pool (named 'other'): its state moves there, a's series go.
    m.record(
      'd',
      snap([
        poolRec({ Status: 'Dead', 'Stratum Active': false, 'Stratum Difficulty': 0.002 }),
        poolRec({ POOL: 1, URL: 'stratum+tcp://127.0.0.1:9', Priority: 1, 'Stratum Active': true, 'Stratum Difficulty': 8 }),
      ]),
      namer,
      ['a'],
      3000,
    );
    expect(await st('a')).toEqual([]);
    expect(await st('other')).toEqual(['authorized']);
    t = await m.registry.metrics();
    expect(metricValue(t, 'minefleet_miner_difficulty', { device: 'd', pool: 'other' })).toBe(8);
    expect(metricValue(t, 'minefleet_miner_difficulty', { device: 'd', pool: 'a' })).toBe(0.002);
    // The stray is removed from the device: its difficulty series goes too.
    m.record('d', snap([poolRec({ 'Stratum Active': true, 'Stratum Difficulty': 0.004 })]), namer, ['a'], 4000);
    t = await m.registry.metrics();
    expect(metricValue(t, 'minefleet_miner_difficulty', { device: 'd', pool: 'other' })).toBeUndefined();
    expect(metricValue(t, 'minefleet_miner_difficulty', { device: 'd', pool: 'a' })).toBe(0.004);
    expect(await st('other')).toEqual([]);
    expect(await st('a')).toEqual(['authorized']);
    // The device stops answering: what it mines now is unknown, so no pool gauges (device_up says 0).
    m.down('d', L3.id);
    t = await m.registry.metrics();
    expect(metricValue(t, 'minefleet_miner_difficulty', { device: 'd' })).toBeUndefined();
    expect(metricValue(t, 'minefleet_miner_pool_connection_state', { device: 'd' })).toBeUndefined();
    expect(metricValue(t, 'minefleet_miner_device_up', { device: 'd' })).toBe(0);
  });

  it('"Found Blocks" growth is blocks_found_total on the pool in use (a first sight of an older device is only a baseline)', async () => {
    const m = new SupervisorMetrics(0);
    const onA = [poolRec({ 'Stratum Active': true })];
    m.record('d', snap(onA, { 'Found Blocks': 4 }), namer, ['a'], 1000);
    let t = await m.registry.metrics();
    expect(metricValue(t, 'minefleet_miner_blocks_found_total', { device: 'd' })).toBeUndefined();
    m.record('d', snap(onA, { 'Found Blocks': 6, Elapsed: 101 }), namer, ['a'], 2000);
    m.record('d', snap([poolRec({ Status: 'Dead', 'Stratum Active': false })], { 'Found Blocks': 7, Elapsed: 102 }), namer, ['a'], 3000);
    t = await m.registry.metrics();
    expect(t).toContain('minefleet_miner_blocks_found_total{device="d",pool="a"} 2');
    expect(t).toContain('minefleet_miner_blocks_found_total{device="d",pool="none"} 1');
  });

  it('a device that reports no difficulty, no Stratum Active and no Get Failures gets no such series (never a made-up 0)', async () => {
    const m = new SupervisorMetrics(0);
    m.record('old-fw', snap([poolRec({})]), namer, ['a'], 1000);
    const t = await m.registry.metrics();
    expect(t).not.toMatch(/^minefleet_miner_difficulty\{/m);
    expect(t).not.toMatch(/^minefleet_miner_pool_connection_state\{/m);
    expect(t).not.toMatch(/^minefleet_miner_reconnects_total\{/m);
    expect(t).not.toMatch(/^minefleet_miner_blocks_found_total\{/m);
    const r = parseMinerMetrics(t);
    expect(r.devices!.get('old-fw')).toMatchObject({ difficulty: 0, connectionState: undefined, up: true });
    expect(r.devices!.get('old-fw')!.jobAgeSeconds).toBeUndefined();
  });
});

describe('collector: pool gauges of a supervisor', () => {
  it("reads each device's difficulty and state of the pool it mines on; the pod's are the highest difficulty and the most common state", async () => {
    const m = new SupervisorMetrics(0);
    const onA = (diff: number) => poolRec({ 'Stratum Active': true, 'Stratum Difficulty': diff });
    const bOld = poolRec({ POOL: 1, URL: URL_B, Priority: 1, 'Stratum Difficulty': 64, 'Stratum Active': false });
    m.record('asic-0', snap([onA(0.002), bOld]), namer, ['a', 'b'], 1000);
    m.record('asic-1', snap([onA(0.008), bOld]), namer, ['a', 'b'], 1000);
    m.record('asic-2', snap([poolRec({ Status: 'Dead', 'Stratum Active': false, 'Stratum Difficulty': 0.002 }), bOld]), namer, ['a', 'b'], 1000);
    m.record(
      'asic-3',
      snap([poolRec({ Status: 'Dead', 'Stratum Active': false }), { ...bOld, 'Stratum Active': true, Status: 'Alive' }]),
      namer,
      ['a', 'b'],
      1000,
    );
    const r = parseMinerMetrics(await m.registry.metrics());
    const d = (n: string) => r.devices!.get(n)!;
    expect([d('asic-0').difficulty, d('asic-1').difficulty, d('asic-3').difficulty]).toEqual([0.002, 0.008, 64]);
    expect([d('asic-0'), d('asic-1'), d('asic-2'), d('asic-3')].map((x) => [x.activePool, x.connectionState])).toEqual([
      ['a', 'authorized'],
      ['a', 'authorized'],
      [undefined, 'connecting'], // a Dead: the device tries b next
      ['b', 'authorized'],
    ]);
    // asic-2 mines on no pool: its difficulty is that of the pool it tries (b), not of the dead a.
    expect(d('asic-2').difficulty).toBe(64);
    expect(r.activePool).toBe('a');
    expect(r.difficulty).toBe(0.008);
    expect(r.connectionState).toBe('authorized');

    // A tie goes to the worse state.
    const m2 = new SupervisorMetrics(0);
    m2.record('x', snap([onA(1)]), namer, ['a'], 1000);
    m2.record('y', snap([poolRec({ Status: 'Dead', 'Stratum Active': false })]), namer, ['a'], 1000);
    expect(parseMinerMetrics(await m2.registry.metrics()).connectionState).toBe('disconnected');
  });

  it("each device's window sample keeps its own difficulty and connection state, and a job age only when there is one", () => {
    const acc = new WindowAccumulator(60, 0);
    const T = Date.UTC(2026, 11, 1, 10, 0, 0);
    const base = {
      namespace: 'n',
      fleet: 'f',
      pod: 'sup-0',
      podUid: 'u',
      at: T + 1000,
      hashes: 60,
      shares: new Map<string, number>(),
      hashrate10s: 1,
      hashrate60s: 1,
      jobAgeSeconds: 0,
    };
    acc.add({ ...base, pool: 'a', difficulty: 0.002, connectionState: 'authorized', device: { name: 'asic-0' } });
    acc.add({ ...base, pool: 'a', difficulty: 0.004, connectionState: 'disconnected', jobAgeSeconds: undefined, device: { name: 'asic-1' } });
    const { samples } = acc.close(T + 61_000);
    expect(samples.map((s) => [s.deviceName, s.difficulty, s.connectionState, s.jobAgeSeconds])).toEqual([
      ['asic-0', 0.002, 'authorized', 0],
      ['asic-1', 0.004, 'disconnected', undefined],
    ]);
    // No job age reported: no field at all (not a made-up 0).
    expect(samples[1]).not.toHaveProperty('jobAgeSeconds');
  });
});
