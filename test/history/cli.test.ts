/**
 * The `history` report command against FerretDB (or MONGODB_URI): rollups, shares and decisions
 * written through the store, read back by the command in its three output formats, plus its
 * usage errors and an unreachable store. The command is run in process (main) and once as the
 * operator image runs it (a child process), to check exit codes and that the URI is redacted.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, parseTime } from '../../operator/src/cli.js';
import type { HistoryStore } from '../../operator/src/store/index.js';
import { freePort, REPO_ROOT, startFerretDB, type FerretDB } from '../support/index.js';
import { openStore, rollup, share, T0, tempDir, uniqueDbName } from '../store/helpers.js';

const run = promisify(execFile);
let fdb: FerretDB | undefined;
let uri: string;
let store: HistoryStore;
const db = uniqueDbName('cli');
const spill = tempDir('cli');

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

const range = ['--from', T0.toISOString(), '--to', new Date(T0.getTime() + 60 * 60_000).toISOString()];

beforeAll(async () => {
  if (process.env.MONGODB_URI) uri = process.env.MONGODB_URI;
  else {
    fdb = await startFerretDB();
    uri = fdb.uri;
  }
  // Documents dated 2026-01-01: a retention long enough that the sweeper leaves them alone.
  ({ store } = await openStore({
    uri,
    dbName: db,
    buffer: { spillDir: spill.dir },
    retentionDays: { samples: 3650, rollups: 3650, shares: 3650, events: 3650, probes: 3650 },
  }));
  // One hour of one-minute rollups: 10 accepted, 2 rejected, 1 stale each; hashrate 4000 + 10/minute.
  await store.writeRollups(Array.from({ length: 60 }, (_, m) => rollup(m)));
  await store.writeShares([
    ...Array.from({ length: 8 }, (_, i) => share(i)),
    share(8, { result: 'rejected', reason: 'low difficulty share' }),
    share(9, { result: 'rejected', reason: 'low difficulty share' }),
    share(10, { result: 'stale', reason: 'job not found' }),
  ]);
  await store.recordEvent({
    namespace: 'mining',
    fleet: 'alpha',
    pool: 'pool-b',
    type: 'failover',
    severity: 'warning',
    reason: 'PoolUnhealthy',
    message: 'pool-a unreachable; switched to pool-b',
    time: new Date(T0.getTime() + 30 * 60_000),
    actor: 'operator-0',
  });
  // Outside the range: not reported.
  await store.recordEvent({
    namespace: 'mining',
    fleet: 'alpha',
    type: 'resume',
    severity: 'info',
    reason: 'Profitable',
    message: 'later',
    time: new Date(T0.getTime() + 2 * 60 * 60_000),
  });
  expect(await store.flush(60_000)).toBe(true);
}, 180_000);

afterAll(async () => {
  await store?.close({ flushTimeoutMs: 0 });
  await fdb?.stop();
  spill.remove();
});

describe('history fleet report', () => {
  it('--json: hashrate per point, share counts and acceptance, the decisions in range with the acting instance', async () => {
    const r = await cli(['history', 'fleet', 'alpha', '-n', 'mining', ...range, '--points', '4', '--json', '--uri', uri, '--db', db]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as {
      points: Array<{ windows: number; hashrate: number; accepted: number; rejected: number; stale: number; acceptance: number; podsMax: number }>;
      shares: { accepted: number; rejected: number; stale: number; topRejectReasons: Array<{ reason: string; count: number }> };
      decisions: Array<{ type: string; reason: string; actor?: string }>;
    };
    expect(rep.points).toHaveLength(4);
    // 15 one-minute windows per quarter hour.
    expect(rep.points.map((p) => p.windows)).toEqual([15, 15, 15, 15]);
    expect(rep.points.map((p) => p.accepted)).toEqual([150, 150, 150, 150]);
    expect(rep.points[0]).toMatchObject({ rejected: 30, stale: 15, podsMax: 4 });
    expect(rep.points[0]!.acceptance).toBeCloseTo(10 / 13, 6);
    // Mean of 4000..4140 step 10 over the first quarter hour.
    expect(rep.points[0]!.hashrate).toBe(4070);
    expect(rep.shares).toMatchObject({ accepted: 8, rejected: 2, stale: 1 });
    expect(rep.shares.topRejectReasons[0]).toEqual({ reason: 'low difficulty share', count: 2 });
    expect(rep.decisions).toEqual([expect.objectContaining({ type: 'failover', reason: 'PoolUnhealthy', actor: 'operator-0' })]);
  });

  it('--csv and the text table carry the same numbers', async () => {
    const csv = await cli(['history', 'fleet', 'alpha', '-n', 'mining', ...range, '--points', '2', '--csv', '--uri', uri, '--db', db]);
    expect(csv.code).toBe(0);
    const lines = csv.out.trim().split('\n');
    expect(lines[0]).toBe('start,end,windows,hashrate_hps,hashrate_max_hps,accepted,rejected,stale,acceptance,pods_max');
    expect(lines).toHaveLength(3);
    expect(lines[1]!.split(',')).toEqual([
      T0.toISOString(),
      new Date(T0.getTime() + 30 * 60_000).toISOString(),
      '30',
      '4145',
      '4290',
      '300',
      '60',
      '30',
      '0.7692',
      '4',
    ]);
    const text = await cli(['history', 'fleet', 'alpha', '-n', 'mining', ...range, '--points', '2', '--uri', uri, '--db', db]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/HASHRATE\(H\/s\)/);
    expect(text.out).toMatch(/4145\s+4290\s+300\s+60\s+30\s+76\.9%\s+4/);
    expect(text.out).toMatch(/shares: 8 accepted, 2 rejected, 1 stale/);
    expect(text.out).toMatch(/failover\s+PoolUnhealthy: pool-a unreachable; switched to pool-b\s+\[operator-0\]/);
    expect(text.out).not.toMatch(/later/);
  });

  it('a range without data says so', async () => {
    const r = await cli([
      'history',
      'fleet',
      'alpha',
      '-n',
      'mining',
      '--from',
      '2020-01-01T00:00:00Z',
      '--to',
      '2020-01-02T00:00:00Z',
      '--uri',
      uri,
      '--db',
      db,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no samples in this range/);
    expect(r.out).toMatch(/decisions: 0/);
  });

  it('names what is wrong in bad usage (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['history', 'pool', 'x', '--uri', uri], /unknown command 'history pool x'/],
      [['history', 'fleet', 'alpha', '--from', 'yesterday', '--uri', uri], /--from: 'yesterday' is not an ISO time/],
      [['history', 'fleet', 'alpha', '--from=-1h', '--to=-2h', '--uri', uri], /--to must be after --from/],
      [['history', 'fleet', 'alpha', '--from', '-1h', '--uri', uri], /--from=-24h/],
      [['history', 'fleet', 'alpha', '--points', '0', '--uri', uri], /--points: '0' must be an integer/],
      [['history', 'fleet', 'alpha', '--json', '--csv', '--uri', uri], /--json or --csv, not both/],
      [['history', 'fleet', 'alpha'], /no MongoDB URI/],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
    expect(parseTime('from', '-90m', new Date(T0.getTime() + 90 * 60_000)).getTime()).toBe(T0.getTime());
  });

  it('as a process: an unreachable store exits 1 with the URI redacted', async () => {
    const port = await freePort();
    const secretUri = `mongodb://reporter:s3cret-pw@127.0.0.1:${port}/`;
    const r = await run(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'operator/src/cli.ts'), 'history', 'fleet', 'alpha', '--uri', secretUri], {
      cwd: REPO_ROOT,
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect('code' in r ? r.code : 0).toBe(1);
    expect(r.stderr).toMatch(/history store unavailable/);
    expect(r.stderr).not.toMatch(/s3cret-pw/);
  }, 60_000);
});
