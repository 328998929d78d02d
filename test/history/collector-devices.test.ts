/**
 * Unit tests: what `miner supervise` exports for history (hashes and shares per device, as deltas
 * of the devices' own counters that survive device and supervisor restarts), how the collector
 * reads it (sums over devices for status, one reading per device for history), per-device
 * samples in the windows and their idempotency keys.
 */
import { describe, expect, it } from 'vitest';
import { SupervisorMetrics } from '../../miner/src/external/metrics.js';
import { modelById } from '../../miner/src/external/models.js';
import { parseReply } from '../../miner/src/external/reply.js';
import { buildSnapshot, totalHashesFrom, type DeviceSnapshot } from '../../miner/src/external/snapshot.js';
import { counterDelta, firstBaseline } from '../../operator/src/collector/deltas.js';
import { parseMinerMetrics, shareKey } from '../../operator/src/collector/exposition.js';
import { WindowAccumulator, type PodObservation } from '../../operator/src/collector/windows.js';
import { documentId } from '../../operator/src/store/writer.js';
import { RollupDocSchema, SampleDocSchema } from '../../operator/src/store/index.js';

const OK = (code: number, msg: string) => `"STATUS":[{"STATUS":"S","When":1,"Code":${code},"Msg":"${msg}","Description":"cgminer 4.11.1"}]`;
const L3 = modelById('antminer-l3plus')!;
const URL_A = 'stratum+tcp://127.0.0.1:3333';

/** A device's replies as an L3+ firmware words them ("GHS" keys carry MH/s, "Total MH" kH). */
function snap(o: { elapsed: number; totalMH?: number; ghsAv?: number; ghs5s?: number; accepted: number; rejected?: number; stale?: number }): DeviceSnapshot {
  const sum: Record<string, number> = { Elapsed: o.elapsed, 'GHS 5s': o.ghs5s ?? 0.0002, Accepted: o.accepted, 'Hardware Errors': 0 };
  if (o.totalMH !== undefined) sum['Total MH'] = o.totalMH;
  if (o.ghsAv !== undefined) sum['GHS av'] = o.ghsAv;
  return buildSnapshot({
    model: L3,
    summary: parseReply(`{${OK(11, 'Summary')},"SUMMARY":[${JSON.stringify(sum)}]}`),
    pools: parseReply(
      `{${OK(7, '1 Pool(s)')},"POOLS":[${JSON.stringify({
        POOL: 0,
        URL: URL_A,
        User: 'u.w',
        Status: 'Alive',
        Priority: 0,
        'Stratum Active': true,
        Accepted: o.accepted,
        Rejected: o.rejected ?? 0,
        Stale: o.stale ?? 0,
      })}]}`,
    ),
    devs: parseReply(`{${OK(9, '1 ASC(s)')},"DEVS":[{"ASC":0,"Enabled":"Y","Status":"Alive"}]}`),
  });
}

const namer = () => 'a';
async function text(m: SupervisorMetrics): Promise<string> {
  return m.registry.metrics();
}

describe('device hash counter', () => {
  it('prefers summary "Total MH" (in the firmware units), else "MHS av" x Elapsed', () => {
    // L3+: "Total MH" carries kH like its "MHS" keys carry kH/s.
    expect(totalHashesFrom({ 'Total MH': 1500, Elapsed: 10, 'GHS av': 99 }, L3)).toBe(1_500_000);
    expect(totalHashesFrom({ Elapsed: 10, 'GHS av': 0.0002 }, L3)).toBeCloseTo(2000);
    expect(totalHashesFrom({ 'GHS 5s': 1 }, L3)).toBeUndefined();
    expect(totalHashesFrom({ 'Total MH': 2, Elapsed: 1 }, modelById('generic')!)).toBe(2e6);
  });
});

describe('supervisor counters from device counters', () => {
  it('a device that started after the supervisor counts from zero; an older one only sets the baseline at first sight', async () => {
    const t0 = 1_000_000_000_000;
    const m = new SupervisorMetrics(t0);
    // young: booted 3 s ago, supervisor up 10 s: all of it happened while we watched.
    m.record('young', snap({ elapsed: 3, totalMH: 1, accepted: 2 }), namer, ['a'], t0 + 10_000);
    // old: up for an hour before the supervisor: its counts were exported before (or by nobody).
    m.record('old', snap({ elapsed: 3600, totalMH: 500, accepted: 900 }), namer, ['a'], t0 + 10_000);
    let r = parseMinerMetrics(await text(m));
    expect(r.devices!.get('young')).toMatchObject({ hashesTotal: 1000, up: true, model: 'antminer-l3plus' });
    expect(r.devices!.get('young')!.shares.get(shareKey('a', 'accepted', ''))).toBe(2);
    expect(r.devices!.get('old')!.hashesTotal).toBe(0);
    expect(r.devices!.get('old')!.shares.get(shareKey('a', 'accepted', ''))).toBeUndefined();
    // Both grow; then 'old' restarts (Elapsed back to 2 s, counters from zero) and by chance is past nothing.
    m.record('young', snap({ elapsed: 8, totalMH: 3, accepted: 5, rejected: 1 }), namer, ['a'], t0 + 15_000);
    m.record('old', snap({ elapsed: 3605, totalMH: 502, accepted: 904, stale: 1 }), namer, ['a'], t0 + 15_000);
    m.record('old', snap({ elapsed: 2, totalMH: 1, accepted: 1 }), namer, ['a'], t0 + 20_000);
    r = parseMinerMetrics(await text(m));
    expect(r.devices!.get('young')!.hashesTotal).toBe(3000);
    expect(r.devices!.get('young')!.shares.get(shareKey('a', 'rejected', 'device'))).toBe(1);
    const old = r.devices!.get('old')!;
    expect(old.hashesTotal).toBe(2000 + 1000);
    expect(old.shares.get(shareKey('a', 'accepted', ''))).toBe(4 + 1);
    expect(old.shares.get(shareKey('a', 'stale', 'device'))).toBe(1);
    // The collector's pod-level view is the sum over devices, not the last device's value.
    expect(r.hashesTotal).toBe(3000 + 3000);
    expect(r.shares.get(shareKey('a', 'accepted', ''))).toBe(5 + 5);
    expect(r.activePool).toBe('a');
  });

  it('a device without a hash counter gets its 5 s rate integrated; a silent device stops counting as hashing', async () => {
    const t0 = 2_000_000_000_000;
    const m = new SupervisorMetrics(t0);
    const noCounter = (accepted: number) => ({ ...snap({ elapsed: 1, ghs5s: 0.0001, accepted }), totalHashes: undefined });
    m.record('usb', noCounter(0), namer, ['a'], t0);
    m.record('usb', noCounter(1), namer, ['a'], t0 + 4000);
    let r = parseMinerMetrics(await text(m));
    expect(r.devices!.get('usb')!.hashesTotal).toBeCloseTo(100 * 4);
    expect(r.hashrate60s).toBeCloseTo(100);
    m.down('usb', L3.id);
    r = parseMinerMetrics(await text(m));
    expect(r.devices!.get('usb')).toMatchObject({ up: false, hashrate60s: 0, hashrate10s: 0 });
    expect(r.hashrate60s).toBe(0);
  });

  it('a supervisor whose devices never answered is a reading with no devices, not a scrape error', async () => {
    const r = parseMinerMetrics(await text(new SupervisorMetrics()));
    expect(r.hashesTotal).toBe(0);
    expect(r.devices!.size).toBe(0);
  });
});

describe('collector: per-device deltas and samples', () => {
  const T = Date.UTC(2026, 11, 1, 10, 0, 0);
  const obs = (device: string, over: Partial<PodObservation> = {}): PodObservation => ({
    namespace: 'farm',
    fleet: 'asics',
    pod: 'asics-sup-0',
    podUid: 'u0',
    at: T + 10_000,
    hashes: 6000,
    shares: new Map([[shareKey('a', 'accepted', ''), 3]]),
    pool: 'a',
    difficulty: 0,
    hashrate10s: 100,
    hashrate60s: 100,
    connectionState: 'up',
    jobAgeSeconds: 0,
    device: { name: device, kind: 'network', model: 'antminer-l3plus', temperatureC: 61.5, powerW: 790 },
    ...over,
  });

  it('one sample per device and window with its own idempotency key; the rollup counts one pod and sums power', () => {
    const acc = new WindowAccumulator(60, 1000);
    acc.add(obs('asic-0'));
    acc.add(obs('asic-1', { shares: new Map([[shareKey('a', 'stale', 'device'), 1]]) }));
    acc.add(obs('asic-0', { at: T + 20_000, device: { name: 'asic-0', kind: 'network', temperatureC: 63 } }));
    const closed = acc.close(T + 62_000);
    expect(closed.samples).toHaveLength(2);
    for (const s of closed.samples) SampleDocSchema.parse(s);
    const s0 = closed.samples.find((s) => s.deviceName === 'asic-0')!;
    expect(s0).toMatchObject({ pod: 'asics-sup-0', hashrate: 200, shares: { accepted: 6, rejected: 0, stale: 0 } });
    expect(s0.device).toEqual({ kind: 'network', model: 'antminer-l3plus', temperatureC: 63, powerW: 790 });
    const ids = closed.samples.map((s) => documentId('samples', s));
    expect(new Set(ids).size).toBe(2);
    expect(closed.rollups).toHaveLength(1);
    RollupDocSchema.parse(closed.rollups[0]);
    expect(closed.rollups[0]).toMatchObject({ pods: 1, hashrate: 300, powerW: 1580, shares: { accepted: 6, rejected: 0, stale: 1 } });
  });

  it("a miner pod's sample keeps the id it had before samples had devices (spilled samples replay idempotently)", () => {
    const doc = { namespace: 'ns', fleet: 'f', pod: 'f-0', windowStart: new Date(T) };
    expect(documentId('samples', doc)).toBe(JSON.stringify(['ns', 'f', 'f-0', new Date(T).toISOString()]));
    expect(documentId('samples', { ...doc, deviceName: 'd' })).toBe(JSON.stringify(['ns', 'f', 'f-0', new Date(T).toISOString(), 'd']));
  });

  it('a device restart between scrapes counts from zero for that device only', async () => {
    const t0 = 3_000_000_000_000;
    const m = new SupervisorMetrics(t0);
    m.record('d0', snap({ elapsed: 1, totalMH: 1, accepted: 1 }), namer, ['a'], t0 + 2000);
    m.record('d1', snap({ elapsed: 4, totalMH: 1, accepted: 1 }), namer, ['a'], t0 + 2000);
    const r1 = parseMinerMetrics(await text(m));
    m.record('d0', snap({ elapsed: 6, totalMH: 2, accepted: 3 }), namer, ['a'], t0 + 7000);
    m.record('d1', snap({ elapsed: 1, totalMH: 1, accepted: 1 }), namer, ['a'], t0 + 7000); // restarted: Elapsed went back
    const r2 = parseMinerMetrics(await text(m));
    const historyStart = t0 - 60_000;
    for (const [name, want] of [
      ['d0', { hashes: 1000, accepted: 2 }],
      ['d1', { hashes: 1000, accepted: 1 }],
    ] as const) {
      const b1 = counterDelta(firstBaseline(r1.devices!.get(name)!, historyStart), r1.devices!.get(name)!, t0 + 3000);
      const d = counterDelta(b1.baseline, r2.devices!.get(name)!, t0 + 8000).delta!;
      expect(d.hashes).toBe(want.hashes);
      expect(d.shares.get(shareKey('a', 'accepted', ''))).toBe(want.accepted);
      expect(d.reset).toBe(false); // the supervisor's counters never go down: no double count
    }
  });
});
