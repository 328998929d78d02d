// The collector benchmark's load generator: serves N "miner pods" on loopback aliases
// (127.1.x.y, one HTTP listener per address, same port), each answering GET /metrics in the
// miner's own exposition (the text of a real MinerMetrics registry, rendered once, with this
// pod's counters written in) and GET /shares?after=SEQ in the miner's share-ring contract.
// Counters are pure functions of time and the pod's index, so nothing per pod is kept but a
// listener: one process serves 10,000 pods at a few percent of a core.
//   tsx bench/collector-loadgen.ts --port P --pods N
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { MinerMetrics } from '../miner/src/metrics/metrics.js';
import { SHARES_PAGE_MAX, type ShareRecord, type SharesPage } from '../miner/src/metrics/share-ring.js';

/** The address of pod i: 127.1.0.1 .. 127.1.39.250 for 10,000 pods (Linux routes all of 127/8 to lo). */
export function podIp(i: number): string {
  return `127.1.${Math.floor(i / 250)}.${1 + (i % 250)}`;
}

function podIndex(ip: string): number {
  const [, , c, d] = ip
    .replace(/^::ffff:/, '')
    .split('.')
    .map(Number);
  return c! * 250 + d! - 1;
}

/** One share every SHARE_PERIOD_S per pod (staggered), every 20th rejected: a small-difficulty CPU miner. */
export const SHARE_PERIOD_S = 15;
const RING = 1000;
const POOLS = ['primary', 'backup'];

// Sentinel values written into a real MinerMetrics registry, replaced per pod per request.
const S = { hashes: 900000001, h10: 900000002, h60: 900000003, acc: 900000004, rej: 900000005, start: 900000006, age: 900000007 };

async function template(): Promise<string> {
  const m = new MinerMetrics(1);
  m.hashes.inc(S.hashes);
  m.hashrate.set({ window: '10s' }, S.h10);
  m.hashrate.set({ window: '60s' }, S.h60);
  m.hashrate.set({ window: '15m' }, S.h60);
  m.threadHashrate.set({ thread: '0' }, S.h10);
  m.shares.inc({ pool: 'primary', result: 'accepted', reason: '' }, S.acc);
  m.shares.inc({ pool: 'primary', result: 'rejected', reason: 'low difficulty share' }, S.rej);
  m.setActivePool(POOLS, 'primary');
  m.setConnectionState('primary', 'authorized');
  m.difficulty.set({ pool: 'primary' }, 0.0625);
  m.jobAge.set(S.age);
  m.info.set({ version: '0.1.0', backend: 'cpu', kernel: 'wasm-simd' }, 1);
  let text = await m.registry.metrics();
  m.stop();
  // The default process_start_time_seconds is this process's; each pod has its own.
  text = text.replace(/^process_start_time_seconds \S+$/m, `process_start_time_seconds ${S.start}`);
  for (const v of Object.values(S)) if (!text.includes(String(v))) throw new Error(`loadgen template: sentinel ${v} missing`);
  return text;
}

export interface PodClock {
  hashrate: number;
  startTime: number;
  lastSeq: number;
}

/** Pod i at time now (ms): started at t0 minus a few minutes, a fixed hashrate, shares every SHARE_PERIOD_S. */
export function podClock(i: number, t0: number, now: number): PodClock {
  const startTime = t0 / 1000 - 20 - (i % 13);
  const hashrate = 4000 + (i % 100) * 20;
  const lastSeq = Math.floor((now / 1000 - startTime) / SHARE_PERIOD_S);
  return { hashrate, startTime, lastSeq };
}

const rejectedSeq = (seq: number) => seq % 20 === 0;

function shareRecord(i: number, c: PodClock, seq: number): ShareRecord {
  const time = new Date((c.startTime + seq * SHARE_PERIOD_S) * 1000).toISOString();
  const base = {
    seq,
    time,
    pool: 'primary',
    worker: `wallet.pod${i}`,
    jobId: (seq >> 2).toString(16),
    extranonce2: (seq & 0xffffffff).toString(16).padStart(8, '0'),
    ntime: Math.floor(c.startTime + seq * SHARE_PERIOD_S)
      .toString(16)
      .padStart(8, '0'),
    nonce: ((i * 2654435761 + seq * 40503) >>> 0).toString(16).padStart(8, '0'),
    difficulty: 0.0625,
  };
  return rejectedSeq(seq) ? { ...base, result: 'rejected', reason: 'low difficulty share' } : { ...base, result: 'accepted' };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' }, pods: { type: 'string' } } });
  const port = Number(values.port);
  const pods = Number(values.pods);
  let t0 = Date.now();
  const parts = (await template()).split(/(90000000[1-7])/);
  const bootIds = new Map<number, string>();
  const bootId = (i: number) => bootIds.get(i) ?? (bootIds.set(i, `boot-${i}-${t0}`), bootIds.get(i)!);
  // SIGUSR2: every pod restarts now (new start time, counters and ring from zero), so each
  // variant of the bench starts on the same share backlog, not on what earlier variants left.
  process.on('SIGUSR2', () => {
    t0 = Date.now();
    bootIds.clear();
    console.log(JSON.stringify({ msg: 'loadgen reset', t0 }));
  });

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const i = podIndex(req.socket.localAddress ?? '');
    const now = Date.now();
    const c = podClock(i, t0, now);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/metrics') {
      const up = now / 1000 - c.startTime;
      const rejected = Math.floor(c.lastSeq / 20);
      const v: Record<string, number> = {
        [S.hashes]: Math.floor(up * c.hashrate),
        [S.h10]: c.hashrate,
        [S.h60]: c.hashrate,
        [S.acc]: c.lastSeq - rejected,
        [S.rej]: rejected,
        [S.start]: c.startTime,
        [S.age]: up % 30,
      };
      const body = parts.map((p, k) => (k % 2 === 1 ? String(v[p]) : p)).join('');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      return;
    }
    if (url.pathname === '/shares') {
      const after = Math.max(0, Number(url.searchParams.get('after') ?? 0) || 0);
      const oldestSeq = Math.max(1, c.lastSeq - RING + 1);
      const from = Math.max(after + 1, oldestSeq);
      const to = Math.min(c.lastSeq, from + SHARES_PAGE_MAX - 1);
      const shares: ShareRecord[] = [];
      for (let s = from; s <= to; s++) shares.push(shareRecord(i, c, s));
      const page: SharesPage = { bootId: bootId(i), lastSeq: c.lastSeq, oldestSeq, shares, more: to < c.lastSeq };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
      return;
    }
    res.writeHead(404).end();
  };

  let bound = 0;
  const listen = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer(handler);
      srv.once('error', reject);
      srv.listen(port, podIp(i), () => {
        bound++;
        resolve();
      });
    });
  for (let i = 0; i < pods; i += 200) await Promise.all(Array.from({ length: Math.min(200, pods - i) }, (_, k) => listen(i + k)));
  console.log(JSON.stringify({ msg: 'loadgen ready', pods: bound, port, first: podIp(0), last: podIp(pods - 1) }));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
