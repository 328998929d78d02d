/** Unit tests: what real firmware sends, unit normalisation per model, and the pure planner. */
import { describe, expect, it } from 'vitest';
import { escapeParam } from '../../miner/src/external/client.js';
import { splitParam, truncateReply } from '../../miner/src/external/emulator/api-server.js';
import { initialThermal, stepThermal } from '../../miner/src/external/emulator/thermal.js';
import { detectModel, modelById, rateFrom } from '../../miner/src/external/models.js';
import { describeAction, planActions, type WantedState } from '../../miner/src/external/plan.js';
import { checkStatus, parsePlain, parseReply, repairJson, ReplyError } from '../../miner/src/external/reply.js';
import { buildSnapshot, parseSensors, resolveModel, type DevicePool, type DeviceUnit } from '../../miner/src/external/snapshot.js';

const OK = '"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary","Description":"cgminer 4.9"}]';

describe('reply parsing', () => {
  it('accepts a trailing NUL, `}{` between reports, `,}` and bare inf/nan', () => {
    const text = `{${OK},"STATS":[{"STATS":0,"Type":"Antminer L3+",}{"STATS":1,"GHS 5s":504.1,"x":inf,"y":nan,"z":-inf,"s":"a,}b}{c inf"}],"id":1}\0`;
    const r = parseReply(text, 'stats');
    expect(r.STATS).toHaveLength(2);
    expect(r.STATS![0]!.Type).toBe('Antminer L3+');
    expect(r.STATS![1]!['GHS 5s']).toBe(504.1);
    expect(r.STATS![1]!.x).toBeNull();
    expect(r.STATS![1]!.y).toBeNull();
    expect(r.STATS![1]!.z).toBeNull();
    // String contents are never rewritten.
    expect(r.STATS![1]!.s).toBe('a,}b}{c inf');
    expect(checkStatus(r, 'stats').Code).toBe(11);
  });

  it('keeps numbers with exponents and negative values', () => {
    expect(JSON.parse(repairJson('{"a":1e-5,"b":-3,"c":true,"d":null}'))).toEqual({ a: 1e-5, b: -3, c: true, d: null });
  });

  it('reports a truncated reply with its size, and garbage as malformed', () => {
    const cut = `{${OK},"SUMMARY":[{"Elapsed":12,"MHS av":`;
    expect(() => parseReply(cut, 'summary')).toThrow(/summary: truncated reply \(\d+ bytes, 3 unclosed brackets\)/);
    try {
      parseReply(cut, 'summary');
    } catch (e) {
      expect((e as ReplyError).kind).toBe('truncated');
    }
    expect(() => parseReply('\x01\x02garbage', 'pools')).toThrow(/pools: neither JSON nor the plain format/);
    expect(() => parseReply('', 'pools')).toThrow(/pools: empty reply/);
    expect(() => parseReply('{"STATUS":[]} trailing', 'pools')).toThrow(/pools: malformed JSON/);
  });

  it('checks STATUS: E and F fail with the device message, a missing STATUS fails', () => {
    const denied = parseReply('{"STATUS":[{"STATUS":"E","When":1,"Code":45,"Msg":"Access denied to \'addpool\' command"}]}');
    expect(() => checkStatus(denied, 'addpool')).toThrow("addpool: device answered STATUS=E (code 45): Access denied to 'addpool' command");
    expect(() => checkStatus(parseReply('{"SUMMARY":[]}'), 'summary')).toThrow('summary: reply has no STATUS block');
  });

  it('parses the plain | format into the same shape', () => {
    const r = parsePlain(
      'STATUS=S,When=1,Code=7,Msg=2 Pool(s),Description=cgminer|POOL=0,URL=stratum+tcp://a:1,Status=Alive,Priority=0,Stratum Active=true|POOL=1,URL=stratum+tcp://b:2,Status=Dead,Priority=1,Stratum Active=false|\0',
    );
    expect(r.STATUS![0]!.STATUS).toBe('S');
    expect(r.POOLS!.map((p) => [p.POOL, p.URL, p.Status])).toEqual([
      [0, 'stratum+tcp://a:1', 'Alive'],
      [1, 'stratum+tcp://b:2', 'Dead'],
    ]);
    expect(parseReply('STATUS=S,Code=11,Msg=Summary|SUMMARY,Elapsed=5,MHS av=1.5|').SUMMARY![0]!['MHS av']).toBe(1.5);
  });

  it("the emulator's truncated quirk cuts every Nth reply to half, and the parser names it truncated", () => {
    const full = `{${OK},"SUMMARY":[{"Elapsed":12,"MHS av":1.5}],"id":1}\0`;
    const sent = [1, 2, 3, 4, 5, 6].map((n) => truncateReply(full, n, 3));
    expect(sent.map((t) => t === full)).toEqual([true, true, false, true, true, false]);
    expect(sent[2]).toBe(full.slice(0, Math.floor((full.length - 1) / 2)));
    expect(sent[2]).not.toContain('\0');
    expect(() => parseReply(sent[2]!, 'summary')).toThrow(/summary: truncated reply/);
    expect(parseReply(sent[0]!, 'summary').SUMMARY![0]!['MHS av']).toBe(1.5);
  });

  it('escapes addpool fields the way the device splits them', () => {
    const fields = ['stratum+tcp://h:1', 'user.w', 'pa,ss\\word'];
    expect(splitParam(fields.map(escapeParam).join(','))).toEqual(fields);
  });
});

describe('units per model', () => {
  it('reads MH/s under "GHS" keys for Antminer L3+/L7, true units for others', () => {
    const l3 = detectModel('Antminer L3+')!;
    expect(l3.id).toBe('antminer-l3plus');
    expect(rateFrom({ 'GHS 5s': 504.5 }, '5s', l3)).toBeCloseTo(504.5e6);
    const lt5 = modelById('goldshell-lt5')!;
    expect(rateFrom({ 'MHS av': 2050 }, 'av', lt5)).toBeCloseTo(2.05e9);
    const dg1 = modelById('elphapex-dg1')!;
    expect(rateFrom({ 'GHS 5s': 14 }, '5s', dg1)).toBeCloseTo(14e9);
    expect(rateFrom({ 'GHS 5s': 'nan' }, '5s', dg1)).toBeUndefined();
  });

  it('configured model wins over detection; unknown devices are generic cgminer', () => {
    const stats = parseReply(`{${OK},"STATS":[{"Type":"Antminer L7"}]}`);
    expect(resolveModel(undefined, stats, undefined).id).toBe('antminer-l7');
    expect(resolveModel('goldshell-lt5', stats, undefined).id).toBe('goldshell-lt5');
    expect(resolveModel(undefined, undefined, undefined).id).toBe('generic');
  });

  it('normalises sensors, chain rates and power from stats', () => {
    const m = modelById('antminer-l3plus')!;
    const stats = parseReply(`{${OK},"STATS":[{"STATS":0}{"temp1":61,"temp2":0,"temp_pcb":50,"fan1":4320,"fan2":0,"chain_rate1":"126.5","Power":800}]}`);
    const s = parseSensors(stats, m);
    expect(s.temperatures).toEqual([
      { sensor: '1', celsius: 61 },
      { sensor: 'pcb', celsius: 50 },
    ]);
    expect(s.fans).toEqual([{ fan: '1', rpm: 4320 }]);
    expect(s.chains[0]!.rate).toBeCloseTo(126.5e6);
    expect(s.powerWatts).toBe(800);
  });

  it('builds a snapshot from summary, pools and devs', () => {
    const m = modelById('usb-stick')!;
    const snap = buildSnapshot({
      model: m,
      summary: parseReply(`{${OK},"SUMMARY":[{"KHS 5s":120,"KHS av":110,"Accepted":5,"Rejected":1,"Stale":2,"Hardware Errors":3}]}`),
      pools: parseReply(`{${OK},"POOLS":[{"POOL":0,"URL":"stratum+tcp://a:1","User":"u","Status":"Alive","Priority":0,"Stratum Active":true,"Accepted":5}]}`),
      devs: parseReply(`{${OK},"DEVS":[{"PGA":0,"Enabled":"N","Status":"Alive"}]}`),
    });
    expect(snap.rate5s).toBe(120_000);
    expect([snap.accepted, snap.rejected, snap.stale, snap.hardwareErrors]).toEqual([5, 1, 2, 3]);
    expect(snap.pools[0]).toMatchObject({ id: 0, active: true, accepted: 5 });
    expect(snap.units).toEqual([{ kind: 'PGA', id: 0, enabled: false, status: 'Alive' }]);
  });
});

describe('planActions', () => {
  const want = (activePool: string, suspended = false): WantedState => ({
    pools: [
      { name: 'a', url: 'stratum+tcp://a:1', user: 'u.w', password: 'secret-a' },
      { name: 'b', url: 'stratum+tcp://b:2', user: 'u.w', password: 'secret-b' },
    ],
    activePool,
    suspended,
  });
  const pool = (id: number, url: string, o: Partial<DevicePool> = {}): DevicePool => ({
    id,
    url,
    user: 'u.w',
    status: 'Alive',
    priority: id,
    active: false,
    accepted: 0,
    rejected: 0,
    stale: 0,
    ...o,
  });
  const asc = (id: number, enabled = true): DeviceUnit => ({ kind: 'ASC', id, enabled, status: 'Alive' });

  it('adds missing pools first (and the password never shows in descriptions)', () => {
    const acts = planActions(want('a'), [pool(0, 'stratum+tcp://old:3', { active: true })], [asc(0)]);
    expect(acts.map((a) => a.cmd)).toEqual(['addpool', 'addpool']);
    expect(acts.map(describeAction).join(' ')).not.toMatch(/secret/);
  });

  it('sets priorities, switches, then removes strays one per round', () => {
    const pools = [pool(0, 'stratum+tcp://old:3', { active: true }), pool(1, 'stratum+tcp://a:1'), pool(2, 'stratum+tcp://b:2')];
    expect(planActions(want('b'), pools, [asc(0)])).toEqual([
      { cmd: 'poolpriority', ids: [2, 1, 0] },
      { cmd: 'switchpool', id: 2, pool: 'b' },
    ]);
    const after = [
      pool(0, 'stratum+tcp://old:3', { priority: 2 }),
      pool(1, 'stratum+tcp://a:1', { priority: 1 }),
      pool(2, 'stratum+tcp://b:2', { priority: 0, active: true }),
    ];
    expect(planActions(want('b'), after, [asc(0)])).toEqual([{ cmd: 'removepool', id: 0, pool: 'stratum+tcp://old:3' }]);
  });

  it('is a no-op when the device is where the fleet wants it', () => {
    const pools = [pool(0, 'stratum+tcp://a:1', { active: true }), pool(1, 'stratum+tcp://b:2')];
    expect(planActions(want('a'), pools, [asc(0), asc(1)])).toEqual([]);
  });

  it('re-enables disabled fleet pools', () => {
    const pools = [pool(0, 'stratum+tcp://a:1', { active: true }), pool(1, 'stratum+tcp://b:2', { status: 'Disabled' })];
    expect(planActions(want('a'), pools, [])).toEqual([{ cmd: 'enablepool', id: 1, pool: 'b' }]);
  });

  it('keeps a device fallback while the wanted pool is dead on it (no flapping)', () => {
    const pools = [pool(0, 'stratum+tcp://a:1', { status: 'Dead' }), pool(1, 'stratum+tcp://b:2', { active: true, priority: 1 })];
    expect(planActions(want('a'), pools, [])).toEqual([]);
    // Once the pool is alive again the fleet's choice is applied.
    const alive = [pool(0, 'stratum+tcp://a:1'), pool(1, 'stratum+tcp://b:2', { active: true, priority: 1 })];
    expect(planActions(want('a'), alive, [])).toEqual([{ cmd: 'switchpool', id: 0, pool: 'a' }]);
  });

  it('suspension disables ASC/PGA units, resume enables them', () => {
    const pools = [pool(0, 'stratum+tcp://a:1', { active: true }), pool(1, 'stratum+tcp://b:2')];
    const pga: DeviceUnit = { kind: 'PGA', id: 0, enabled: true, status: 'Alive' };
    expect(planActions(want('a', true), pools, [asc(0), asc(1, false), pga])).toEqual([
      { cmd: 'ascdisable', id: 0 },
      { cmd: 'pgadisable', id: 0 },
    ]);
    expect(planActions(want('a', false), pools, [asc(0), asc(1, false)])).toEqual([{ cmd: 'ascenable', id: 1 }]);
  });

  it('suspension disables GPU units with gpudisable, resume enables them with gpuenable (pools untouched)', () => {
    const pools = [pool(0, 'stratum+tcp://a:1', { active: true }), pool(1, 'stratum+tcp://b:2')];
    const gpu = (id: number, enabled = true): DeviceUnit => ({ kind: 'GPU', id, enabled, status: 'Alive' });
    const suspend = planActions(want('a', true), pools, [gpu(0), gpu(1), gpu(2, false)]);
    expect(suspend).toEqual([
      { cmd: 'gpudisable', id: 0 },
      { cmd: 'gpudisable', id: 1 },
    ]);
    expect(suspend.map(describeAction)).toEqual(['gpudisable 0', 'gpudisable 1']);
    expect(planActions(want('a', false), pools, [gpu(0, false), gpu(1)])).toEqual([{ cmd: 'gpuenable', id: 0 }]);
    // Already where the fleet wants it: nothing to do, suspended or not.
    expect(planActions(want('a', true), pools, [gpu(0, false)])).toEqual([]);
    expect(planActions(want('a', false), pools, [gpu(0)])).toEqual([]);
    // A rig with mixed units: each kind gets its own command.
    const mixed = planActions(want('a', true), pools, [gpu(0), asc(0), { kind: 'PGA', id: 0, enabled: true, status: 'Alive' }]);
    expect(mixed.map((a) => a.cmd)).toEqual(['gpudisable', 'ascdisable', 'pgadisable']);
  });
});

describe('thermal model', () => {
  it('heats with load, the fan answers, overheating throttles and cooling recovers', () => {
    const p = { ambientCelsius: 25, wattsIdle: 40, wattsFull: 800, throttleCelsius: 85, tauSeconds: 5 };
    let s = initialThermal(p);
    for (let i = 0; i < 300; i++) s = stepThermal(s, p, 1, 0.1);
    expect(s.celsius).toBeGreaterThan(60);
    expect(s.celsius).toBeLessThan(85);
    expect(s.fanFraction).toBeGreaterThan(0.7);
    expect(s.throttle).toBe(1);
    expect(s.watts).toBeCloseTo(800);
    const hot = { ...p, ambientCelsius: 55 };
    for (let i = 0; i < 600; i++) s = stepThermal(s, hot, 1, 0.1);
    expect(s.throttle).toBeLessThan(1);
    expect(s.watts).toBeLessThan(800);
    for (let i = 0; i < 3000; i++) s = stepThermal(s, p, 0, 0.1);
    expect(s.throttle).toBe(1);
    expect(s.celsius).toBeLessThan(40);
  });
});
