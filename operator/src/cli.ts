#!/usr/bin/env node
// Reports from the history store, in the operator image:
//   node dist/operator/src/cli.js history fleet NAME [-n NAMESPACE] [--from T] [--to T] [--points N] [--json|--csv] [--uri URI] [--db NAME]
//   node dist/operator/src/cli.js history events (--scope operator | --fleet NAME | --pool NAME) [-n NAMESPACE] [--from T] [--to T] [--limit N] [--json|--csv]
// Operator-scope events (leadership changes) are stored in the namespace of the operator's lease.
// T: an ISO time, 'now', or relative like --from=-24h / -30m / -7d (with '='; default: the last 24 h).
// The URI comes from --uri or MONGODB_URI (never printed unredacted). Exit: 0 ok, 1 failure, 2 usage.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { EVENT_SCOPES, HistoryStore, redactUri, type EventDoc, type EventScope, type FleetHistory, type ShareStats } from './store/index.js';

const USAGE =
  'usage: cli.js history fleet NAME [-n NAMESPACE] [--from T] [--to T] [--points N] [--json|--csv] [--uri URI] [--db NAME]\n' +
  '       cli.js history events (--scope operator | --fleet NAME | --pool NAME) [-n NAMESPACE] [--from T] [--to T] [--limit N] [--json|--csv] [--uri URI] [--db NAME]\n' +
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

/** One audit record as the events report prints it. */
export interface EventRow {
  time: string;
  scope: string;
  namespace: string;
  fleet?: string;
  pool?: string;
  type: string;
  severity: string;
  reason: string;
  message: string;
  actor?: string;
  details?: Record<string, string | number | boolean | null>;
}

export interface EventsReport {
  namespace: string;
  scope?: EventScope;
  fleet?: string;
  pool?: string;
  from: string;
  to: string;
  /** The newest `limit` events in range were kept and older ones left out. */
  truncated: boolean;
  events: EventRow[];
}

export interface EventsSelection {
  namespace: string;
  scope?: EventScope;
  fleet?: string;
  pool?: string;
  from: Date;
  to: Date;
  limit: number;
}

/** Reads newest first page by page until `limit` events in [from, to) or the first one older than `from`; returns them oldest first. */
export async function collectEvents(store: HistoryStore, q: EventsSelection): Promise<{ events: EventDoc[]; truncated: boolean }> {
  const out: EventDoc[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.queryEvents({
      namespace: q.namespace,
      ...(q.scope ? { scope: q.scope } : {}),
      ...(q.fleet ? { fleet: q.fleet } : {}),
      ...(q.pool ? { pool: q.pool } : {}),
      limit: Math.min(500, q.limit + 1),
      ...(cursor ? { cursor } : {}),
    });
    for (const e of page.events) if (e.time >= q.from && e.time < q.to) out.push(e);
    if (out.length > q.limit) return { events: out.slice(0, q.limit).reverse(), truncated: true };
    cursor = page.events.length > 0 && page.events.at(-1)!.time >= q.from ? page.nextCursor : undefined;
  } while (cursor);
  return { events: out.reverse(), truncated: false };
}

export function buildEventsReport(q: EventsSelection, events: EventDoc[], truncated: boolean): EventsReport {
  return {
    namespace: q.namespace,
    ...(q.scope ? { scope: q.scope } : {}),
    ...(q.fleet ? { fleet: q.fleet } : {}),
    ...(q.pool ? { pool: q.pool } : {}),
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    truncated,
    events: events.map((e) => ({
      time: e.time.toISOString(),
      scope: e.scope,
      namespace: e.namespace,
      ...(e.fleet ? { fleet: e.fleet } : {}),
      ...(e.pool ? { pool: e.pool } : {}),
      type: e.type,
      severity: e.severity,
      reason: e.reason,
      message: e.message,
      ...(e.actor ? { actor: e.actor } : {}),
      ...(e.details ? { details: e.details } : {}),
    })),
  };
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const detailsText = (d: EventRow['details']) =>
  d
    ? Object.entries(d)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')
    : '';

export function formatEventsCsv(r: EventsReport): string {
  const head = 'time,scope,namespace,fleet,pool,type,severity,reason,actor,message,details';
  const rows = r.events.map((e) =>
    [e.time, e.scope, e.namespace, e.fleet ?? '', e.pool ?? '', e.type, e.severity, e.reason, e.actor ?? '', e.message, detailsText(e.details)]
      .map(csvField)
      .join(','),
  );
  return [head, ...rows].join('\n') + '\n';
}

export function formatEventsText(r: EventsReport): string {
  const what = r.fleet ? `fleet ${r.namespace}/${r.fleet}` : r.pool ? `pool ${r.namespace}/${r.pool}` : `${r.scope ?? 'all'} scope in ${r.namespace}`;
  const lines = [`events: ${what}  ${r.from} .. ${r.to}`, ''];
  if (r.events.length === 0) lines.push('(no events in this range)');
  for (const e of r.events) {
    const subject = e.scope === 'operator' ? '' : `  ${[e.fleet && `fleet=${e.fleet}`, e.pool && `pool=${e.pool}`].filter(Boolean).join(' ')}`;
    lines.push(`${e.time}  ${e.severity.padEnd(8)}  ${e.type}  ${e.reason}: ${e.message}${subject}${e.actor ? `  [${e.actor}]` : ''}`);
    if (e.details) lines.push(`    ${detailsText(e.details)}`);
  }
  if (r.truncated) lines.push('', `(only the newest ${r.events.length} shown: raise --limit or narrow --from/--to)`);
  return lines.join('\n') + '\n';
}

type Command = { kind: 'fleet'; q: { namespace: string; fleet: string; from: Date; to: Date; points: number } } | { kind: 'events'; q: EventsSelection };

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
        scope: { type: 'string' },
        fleet: { type: 'string' },
        pool: { type: 'string' },
        limit: { type: 'string', default: '100' },
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
  let cmd: Command;
  try {
    const sub = positionals[1];
    const known = positionals[0] === 'history' && ((sub === 'fleet' && positionals.length === 3) || (sub === 'events' && positionals.length === 2));
    if (!known) throw new UsageError(`unknown command '${positionals.join(' ')}'`);
    if (values.json && values.csv) throw new UsageError('give --json or --csv, not both');
    const from = parseTime('from', values.from, now);
    const to = parseTime('to', values.to, now);
    if (to <= from) throw new UsageError('--to must be after --from');
    if (sub === 'fleet') {
      for (const f of ['scope', 'fleet', 'pool'] as const)
        if (values[f] !== undefined) throw new UsageError(`--${f} is for 'history events'; 'history fleet' takes the fleet as its argument`);
      const points = Number(values.points);
      if (!Number.isInteger(points) || points < 1 || points > 10_000) throw new UsageError(`--points: '${values.points}' must be an integer from 1 to 10000`);
      cmd = { kind: 'fleet', q: { namespace: values.namespace, fleet: positionals[2]!, from, to, points } };
    } else {
      const scope = values.scope;
      if (scope !== undefined && !(EVENT_SCOPES as readonly string[]).includes(scope))
        throw new UsageError(`--scope: '${scope}' is not one of ${EVENT_SCOPES.join(', ')}`);
      if (scope === 'operator' && (values.fleet !== undefined || values.pool !== undefined))
        throw new UsageError('--scope operator: operator events name no fleet or pool; leave out --fleet/--pool');
      if (scope === 'fleet' && values.fleet === undefined) throw new UsageError('--scope fleet needs --fleet NAME');
      if (scope === 'pool' && values.pool === undefined) throw new UsageError('--scope pool needs --pool NAME');
      if (scope === undefined && values.fleet === undefined && values.pool === undefined)
        throw new UsageError('history events: give --scope operator, --fleet NAME or --pool NAME');
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError(`--limit: '${values.limit}' must be an integer from 1 to 100000`);
      cmd = {
        kind: 'events',
        q: {
          namespace: values.namespace,
          ...(scope !== undefined ? { scope: scope as EventScope } : {}),
          ...(values.fleet !== undefined ? { fleet: values.fleet } : {}),
          ...(values.pool !== undefined ? { pool: values.pool } : {}),
          from,
          to,
          limit,
        },
      };
    }
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
    if (cmd.kind === 'events') {
      const { events, truncated } = await collectEvents(store, cmd.q);
      const report = buildEventsReport(cmd.q, events, truncated);
      out(values.json ? `${JSON.stringify(report, null, 2)}\n` : values.csv ? formatEventsCsv(report) : formatEventsText(report));
      return 0;
    }
    const q = cmd.q;
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
