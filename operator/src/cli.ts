#!/usr/bin/env node
// Reports from the history store, in the operator image:
//   node dist/operator/src/cli.js history fleet NAME [-n NAMESPACE] [--from T] [--to T] [--points N] [--json|--csv] [--uri URI] [--db NAME]
// T: an ISO time, 'now', or relative like --from=-24h / -30m / -7d (with '='; default: the last 24 h).
// The URI comes from --uri or MONGODB_URI (never printed unredacted). Exit: 0 ok, 1 failure, 2 usage.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { HistoryStore, redactUri, type EventDoc, type FleetHistory, type ShareStats } from './store/index.js';

const USAGE =
  'usage: cli.js history fleet NAME [-n NAMESPACE] [--from T] [--to T] [--points N] [--json|--csv] [--uri URI] [--db NAME]\n' +
  "  T: ISO time, 'now', or relative (--from=-30m, --from=-24h, --from=-7d: with '=', as a value starting with '-'); default --from=-24h --to=now";

export class UsageError extends Error {}

/** Parses 'now', -30m/-24h/-7d/-90s relative to `now`, or an ISO time; throws naming the flag. */
export function parseTime(flag: string, text: string, now: Date): Date {
  if (text === 'now') return now;
  const rel = /^-(\d+)(s|m|h|d)$/.exec(text);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as 's' | 'm' | 'h' | 'd']);
  const t = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t.getTime()))
    throw new UsageError(`--${flag}: '${text}' is not an ISO time, 'now' or a relative time like -24h`);
  return t;
}

export interface FleetReport {
  namespace: string;
  fleet: string;
  from: string;
  to: string;
  points: Array<{
    start: string;
    end: string;
    windows: number;
    hashrate: number;
    hashrateMax: number;
    accepted: number;
    rejected: number;
    stale: number;
    acceptance: number | null;
    podsMax: number;
  }>;
  shares: ShareStats;
  decisions: Array<{ time: string; type: string; reason: string; message: string; actor?: string }>;
}

export function buildReport(
  q: { namespace: string; fleet: string; from: Date; to: Date },
  history: FleetHistory,
  shares: ShareStats,
  events: EventDoc[],
): FleetReport {
  return {
    namespace: q.namespace,
    fleet: q.fleet,
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    points: history.points.map((p) => {
      const total = p.shares.accepted + p.shares.rejected + p.shares.stale;
      return {
        start: p.start.toISOString(),
        end: p.end.toISOString(),
        windows: p.windows,
        hashrate: Math.round(p.hashrate),
        hashrateMax: Math.round(p.hashrateMax),
        ...p.shares,
        acceptance: total === 0 ? null : p.shares.accepted / total,
        podsMax: p.podsMax,
      };
    }),
    shares,
    decisions: events
      .filter((e) => e.time >= q.from && e.time < q.to)
      .map((e) => ({ time: e.time.toISOString(), type: e.type, reason: e.reason, message: e.message, ...(e.actor ? { actor: e.actor } : {}) })),
  };
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

export function formatCsv(r: FleetReport): string {
  const head = 'start,end,windows,hashrate_hps,hashrate_max_hps,accepted,rejected,stale,acceptance,pods_max';
  const rows = r.points.map((p) =>
    [
      p.start,
      p.end,
      p.windows,
      p.hashrate,
      p.hashrateMax,
      p.accepted,
      p.rejected,
      p.stale,
      p.acceptance === null ? '' : p.acceptance.toFixed(4),
      p.podsMax,
    ].join(','),
  );
  return [head, ...rows].join('\n') + '\n';
}

export function formatText(r: FleetReport): string {
  const lines = [`fleet ${r.namespace}/${r.fleet}  ${r.from} .. ${r.to}`, ''];
  const cols = ['START', 'HASHRATE(H/s)', 'MAX', 'ACCEPTED', 'REJECTED', 'STALE', 'ACCEPT', 'PODS'];
  const rows = r.points
    .filter((p) => p.windows > 0)
    .map((p) => [
      p.start,
      String(p.hashrate),
      String(p.hashrateMax),
      String(p.accepted),
      String(p.rejected),
      String(p.stale),
      pct(p.acceptance),
      String(p.podsMax),
    ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) =>
    row
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  lines.push(fmt(cols), ...rows.map(fmt));
  if (rows.length === 0) lines.push('(no samples in this range)');
  const s = r.shares;
  lines.push('', `shares: ${s.accepted} accepted, ${s.rejected} rejected, ${s.stale} stale (acceptance ${pct(s.acceptanceRate)})`);
  if (s.topRejectReasons.length) lines.push(`top reject reasons: ${s.topRejectReasons.map((x) => `${x.reason} (${x.count})`).join(', ')}`);
  lines.push('', `decisions: ${r.decisions.length}`);
  for (const d of r.decisions) lines.push(`  ${d.time}  ${d.type}  ${d.reason}: ${d.message}${d.actor ? `  [${d.actor}]` : ''}`);
  return lines.join('\n') + '\n';
}

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n', default: 'default' },
        from: { type: 'string', default: '-24h' },
        to: { type: 'string', default: 'now' },
        points: { type: 'string', default: '24' },
        json: { type: 'boolean', default: false },
        csv: { type: 'boolean', default: false },
        uri: { type: 'string' },
        db: { type: 'string', default: 'minefleet' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    // node:util parseArgs takes '-24h' after '--from' for an option; say how to write it.
    const hint = /ambiguous/.test((e as Error).message) ? `\n(relative times go with '=': --from=-24h)` : '';
    err(`${(e as Error).message}${hint}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const now = new Date();
  let q: { namespace: string; fleet: string; from: Date; to: Date; points: number };
  try {
    if (positionals[0] !== 'history' || positionals[1] !== 'fleet' || positionals.length !== 3)
      throw new UsageError(`unknown command '${positionals.join(' ')}'`);
    if (values.json && values.csv) throw new UsageError('give --json or --csv, not both');
    const points = Number(values.points);
    if (!Number.isInteger(points) || points < 1 || points > 10_000) throw new UsageError(`--points: '${values.points}' must be an integer from 1 to 10000`);
    q = { namespace: values.namespace, fleet: positionals[2]!, from: parseTime('from', values.from, now), to: parseTime('to', values.to, now), points };
    if (q.to <= q.from) throw new UsageError('--to must be after --from');
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`${e.message}\n${USAGE}\n`);
    return 2;
  }
  const uri = values.uri ?? env.MONGODB_URI;
  if (!uri) {
    err(`no MongoDB URI: pass --uri or set MONGODB_URI\n${USAGE}\n`);
    return 2;
  }
  const spill = mkdtempSync(path.join(os.tmpdir(), 'minefleet-cli-'));
  let store: HistoryStore | undefined;
  try {
    store = await HistoryStore.connect(
      {
        uri,
        dbName: values.db,
        runMigrations: false,
        buffer: { spillDir: spill },
        timeouts: { connectTimeoutMS: 5_000, serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 60_000 },
      },
      { registry: new Registry() },
    );
    if (!store.available) {
      err(`history store unavailable: ${(await store.health()).lastError ?? `MongoDB at ${redactUri(uri)} did not answer`}\n`);
      return 1;
    }
    const [history, shares] = await Promise.all([
      store.queryFleetHistory(q),
      store.queryShareStats({ namespace: q.namespace, fleet: q.fleet, from: q.from, to: q.to, topReasons: 5 }),
    ]);
    const events: EventDoc[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.queryEvents({ namespace: q.namespace, fleet: q.fleet, limit: 500, ...(cursor ? { cursor } : {}) });
      events.push(...page.events);
      cursor = page.events.length > 0 && page.events.at(-1)!.time >= q.from ? page.nextCursor : undefined;
    } while (cursor);
    const report = buildReport(q, history, shares, events.reverse());
    out(values.json ? `${JSON.stringify(report, null, 2)}\n` : values.csv ? formatCsv(report) : formatText(report));
    return 0;
  } catch (e) {
    err(`history query failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await store?.close({ flushTimeoutMs: 0 });
    rmSync(spill, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`fatal: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
