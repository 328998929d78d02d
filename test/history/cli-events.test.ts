/**
 * `history events` against FerretDB (or MONGODB_URI): operator-scope leadership records written
 * the production way (leadershipAuditRecord through StoreAuditSink), read back oldest first in
 * the range, apart from fleet events in the same namespace; --limit keeps the newest; paging past
 * one query page; csv/text formats; usage errors name the flag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../operator/src/cli.js';
import { StoreAuditSink, type HistoryStore } from '../../operator/src/store/index.js';
import { leadershipAuditRecord } from '../../operator/src/store/leadership-audit.js';
import { startFerretDB, type FerretDB } from '../support/index.js';
import { openStore, quietLogger, T0, tempDir, uniqueDbName } from '../store/helpers.js';

let fdb: FerretDB | undefined;
let uri: string;
let store: HistoryStore;
const db = uniqueDbName('cliev');
const spill = tempDir('cliev');
const NS = 'minefleet-system';
const lease = (transitions: number) => ({ namespace: NS, name: 'minefleet-operator', transitions });
const at = (min: number) => new Date(T0.getTime() + min * 60_000);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    args,
    {},
    (s) => (out += s),
    (s) => (err += s),
  );
  return { code, out, err };
}
const range = ['--from', T0.toISOString(), '--to', at(60).toISOString()];

beforeAll(async () => {
  if (process.env.MONGODB_URI) uri = process.env.MONGODB_URI;
  else {
    fdb = await startFerretDB();
    uri = fdb.uri;
  }
  ({ store } = await openStore({
    uri,
    dbName: db,
    buffer: { spillDir: spill.dir },
    retentionDays: { samples: 3650, rollups: 3650, shares: 3650, events: 3650, probes: 3650 },
  }));
  const a = new StoreAuditSink(store, { actor: 'op-a', logger: quietLogger });
  const b = new StoreAuditSink(store, { actor: 'op-b', logger: quietLogger });
  a.record(leadershipAuditRecord({ leading: true, reason: 'LeaderElected', identity: 'op-a', lease: lease(1), time: at(1) }, NS));
  a.record(leadershipAuditRecord({ leading: false, reason: 'LeaderLost', identity: 'op-a', lease: lease(1), time: at(5) }, NS));
  b.record(leadershipAuditRecord({ leading: true, reason: 'LeaderElected', identity: 'op-b', lease: lease(2), previousHolder: 'op-a', time: at(6) }, NS));
  b.record(leadershipAuditRecord({ leading: false, reason: 'LeaderReleased', identity: 'op-b', lease: lease(2), time: at(50) }, NS));
  // Outside the range, and a fleet event in the same namespace: neither is an operator event in range.
  b.record(leadershipAuditRecord({ leading: true, reason: 'LeaderElected', identity: 'op-b', lease: lease(3), time: at(120) }, NS));
  b.record({ type: 'failover', namespace: NS, fleet: 'alpha', reason: 'PoolUnhealthy', message: 'pool-a down, switched to pool-b', time: at(10) });
  // 620 operator events in another namespace: more than one 500-event page.
  for (let i = 0; i < 620; i++)
    a.record(
      leadershipAuditRecord(
        { leading: true, reason: 'LeaderElected', identity: 'op-a', lease: { ...lease(i), namespace: 'paging' }, time: at(i / 20) },
        'paging',
      ),
    );
  await a.drain();
  await b.drain();
  expect(await store.flush(60_000)).toBe(true);
}, 180_000);

afterAll(async () => {
  await store?.close({ flushTimeoutMs: 0 });
  await fdb?.stop();
  spill.remove();
});

interface Report {
  truncated: boolean;
  events: Array<{ time: string; scope: string; reason: string; severity: string; actor?: string; fleet?: string; details?: Record<string, unknown> }>;
}

describe('history events --scope operator', () => {
  it('--json: the leadership records in range, oldest first, with the acting instance and the lease; no fleet events', async () => {
    const r = await cli(['history', 'events', '--scope', 'operator', '-n', NS, ...range, '--json', '--uri', uri, '--db', db]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as Report;
    expect(rep.truncated).toBe(false);
    expect(rep.events.map((e) => [e.time, e.reason, e.actor, e.severity])).toEqual([
      [at(1).toISOString(), 'LeaderElected', 'op-a', 'info'],
      [at(5).toISOString(), 'LeaderLost', 'op-a', 'warning'],
      [at(6).toISOString(), 'LeaderElected', 'op-b', 'info'],
      [at(50).toISOString(), 'LeaderReleased', 'op-b', 'info'],
    ]);
    expect(rep.events.every((e) => e.scope === 'operator' && e.fleet === undefined)).toBe(true);
    expect(rep.events[2]!.details).toMatchObject({ previousHolder: 'op-a', lease: `${NS}/minefleet-operator`, leaseTransitions: 2, leading: true });
  });

  it('--limit keeps the newest and says so; text and csv carry the same records', async () => {
    const lim = JSON.parse(
      (await cli(['history', 'events', '--scope', 'operator', '-n', NS, ...range, '--limit', '2', '--json', '--uri', uri, '--db', db])).out,
    ) as Report;
    expect(lim.truncated).toBe(true);
    expect(lim.events.map((e) => e.time)).toEqual([at(6).toISOString(), at(50).toISOString()]);

    const text = await cli(['history', 'events', '--scope', 'operator', '-n', NS, ...range, '--uri', uri, '--db', db]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/warning\s+leadership\s+LeaderLost: op-a could not renew the leader lease/);
    expect(text.out).toMatch(/LeaderElected: op-b acquired the leader lease.*\(took over from op-a\)\s+\[op-b\]/);
    expect(text.out).toMatch(/lease=minefleet-system\/minefleet-operator/);
    expect(text.out).not.toMatch(/PoolUnhealthy/);

    const csv = await cli(['history', 'events', '--scope', 'operator', '-n', NS, ...range, '--csv', '--uri', uri, '--db', db]);
    const lines = csv.out.trim().split('\n');
    expect(lines[0]).toBe('time,scope,namespace,fleet,pool,type,severity,reason,actor,message,details');
    expect(lines).toHaveLength(5);
    expect(lines[2]!.startsWith(`${at(5).toISOString()},operator,${NS},,,leadership,warning,LeaderLost,op-a,`)).toBe(true);
    // A fleet's events, with a message holding a comma, quoted.
    const fleet = await cli(['history', 'events', '--fleet', 'alpha', '-n', NS, ...range, '--csv', '--uri', uri, '--db', db]);
    expect(fleet.out.trim().split('\n')[1]).toContain(',"pool-a down, switched to pool-b",');
  });

  it('reads past one query page', async () => {
    const r = await cli(['history', 'events', '--scope', 'operator', '-n', 'paging', ...range, '--limit', '1000', '--json', '--uri', uri, '--db', db]);
    const rep = JSON.parse(r.out) as Report;
    expect(rep.events).toHaveLength(620);
    const times = rep.events.map((e) => Date.parse(e.time));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(new Set(rep.events.map((e) => e.details?.leaseTransitions)).size).toBe(620);
  });

  it('names what is wrong in bad usage (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['history', 'events', '--scope', 'cluster', '--uri', uri], /--scope: 'cluster' is not one of fleet, pool, operator/],
      [['history', 'events', '--scope', 'operator', '--fleet', 'x', '--uri', uri], /operator events name no fleet or pool/],
      [['history', 'events', '--uri', uri], /give --scope operator, --fleet NAME or --pool NAME/],
      [['history', 'events', '--scope', 'pool', '--uri', uri], /--scope pool needs --pool NAME/],
      [['history', 'events', '--scope', 'operator', '--limit', '0', '--uri', uri], /--limit: '0' must be an integer/],
      [['history', 'events', 'extra', '--scope', 'operator', '--uri', uri], /unknown command 'history events extra'/],
      [['history', 'fleet', 'alpha', '--scope', 'operator', '--uri', uri], /--scope is for 'history events'/],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
  });
});
