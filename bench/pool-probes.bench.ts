// MiningPool probing at scale: 500 MiningPools probed every 10 s by one operator replica (the
// built operator as a process, real kube-apiserver + etcd), each probe a real Stratum session
// (connect, subscribe, authorize, first mining.notify) against a few real Stratum test pool
// servers. Measured over a steady window after a warm-up: probes/s (minefleet_pool_probes_total),
// the operator's CPU (utime+stime from /proc) and RSS, the most probes in flight (Stratum sessions
// open at the pool servers, sampled every 20 ms, and controller_runtime_active_workers of the
// miningpool controller), against the probe concurrency bound (main.ts PROBE_CONCURRENCY).
import { readFileSync } from 'node:fs';
import { KubeRest } from '../operator/src/runtime/rest.js';
import { createMiningPool, poolAvailable, prepareNamespace, requireBuild, startOperatorProcess } from '../test/support/fleetRig.js';
import { makeTempDir, sleep, startControlPlane, waitFor } from '../test/support/index.js';
import { startStratumPool, type StratumPool } from '../test/support/stratum/index.js';
import type { BenchRow } from './types.js';

const POOLS = Number(process.env.POOL_PROBES_BENCH_POOLS ?? 500);
const SERVERS = Number(process.env.POOL_PROBES_BENCH_SERVERS ?? 5);
const INTERVAL_S = 10;
const WARMUP_S = Number(process.env.POOL_PROBES_BENCH_WARMUP ?? 25);
const WINDOW_S = Number(process.env.POOL_PROBES_BENCH_WINDOW ?? 60);
const NS = 'probe-bench';

function cpuSeconds(pid: number): number {
  // utime and stime are fields 14 and 15 of /proc/PID/stat, after the parenthesised command name
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // USER_HZ = 100 on Linux
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function metricSum(text: string, name: string, filter: (line: string) => boolean = () => true): number {
  let sum = 0;
  for (const l of text.split('\n')) if ((l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && filter(l)) sum += Number(l.split(' ').at(-1));
  return sum;
}

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

export async function run(): Promise<BenchRow[]> {
  requireBuild();
  const dir = makeTempDir('pool-probes-bench');
  const cp = await startControlPlane();
  const rest = new KubeRest(cp.kubeConfig);
  const servers: StratumPool[] = [];
  let op: Awaited<ReturnType<typeof startOperatorProcess>> | undefined;
  let sampling = true;
  try {
    await prepareNamespace(cp, rest, NS);
    for (let i = 0; i < SERVERS; i++) servers.push(await startStratumPool({ difficulty: 0.004 }));
    const names = Array.from({ length: POOLS }, (_, i) => `p${String(i).padStart(3, '0')}`);
    const probe = { intervalSeconds: INTERVAL_S, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 };
    await pool(names, 16, (name) => createMiningPool(rest, NS, name, servers[Number(name.slice(1)) % SERVERS]!.url, probe));

    op = await startOperatorProcess(cp, { dir, namespace: NS, logLevel: 'warn' });
    let maxSessions = 0;
    const sampler = (async () => {
      while (sampling) {
        maxSessions = Math.max(
          maxSessions,
          servers.reduce((n, s) => n + s.clientCount(), 0),
        );
        await sleep(20);
      }
    })();
    await waitFor(async () => (await Promise.all([names[0]!, names.at(-1)!].map((n) => poolAvailable(rest, NS, n)))).every(Boolean), {
      timeoutMs: 120_000,
      description: 'first and last pool probed',
    });
    await sleep(WARMUP_S * 1000);

    const probes = (t: string) => metricSum(t, 'minefleet_pool_probes_total');
    const okProbes = (t: string) => metricSum(t, 'minefleet_pool_probes_total', (l) => l.includes('result="ok"'));
    const m0 = await op.metrics();
    const cpu0 = cpuSeconds(op.proc.pid);
    const t0 = performance.now();
    maxSessions = 0;
    let maxWorkers = 0;
    const end = Date.now() + WINDOW_S * 1000;
    while (Date.now() < end) {
      const m = await op.metrics();
      maxWorkers = Math.max(
        maxWorkers,
        metricSum(m, 'controller_runtime_active_workers', (l) => l.includes('controller="miningpool"')),
      );
      await sleep(500);
    }
    const m1 = await op.metrics();
    const cpu1 = cpuSeconds(op.proc.pid);
    const seconds = (performance.now() - t0) / 1000;
    const bound = metricSum(m1, 'controller_runtime_max_concurrent_reconciles', (l) => l.includes('controller="miningpool"'));
    const rate = (probes(m1) - probes(m0)) / seconds;
    const okShare = (okProbes(m1) - okProbes(m0)) / Math.max(1, probes(m1) - probes(m0));
    const rss = statusKb(op.proc.pid, 'VmRSS') / 1024;
    const hwm = statusKb(op.proc.pid, 'VmHWM') / 1024;
    sampling = false;
    await sampler;
    const b = 'pool-probes';
    const n = `${POOLS} MiningPools every ${INTERVAL_S}s on ${SERVERS} Stratum servers, one operator, ${WINDOW_S}s window after ${WARMUP_S}s warm-up, 2 shared cores`;
    return [
      { bench: b, metric: 'probes/s', value: rate, unit: '1/s', note: `${n}; ideal ${POOLS / INTERVAL_S}/s` },
      { bench: b, metric: 'probes ok', value: okShare * 100, unit: '%', note: 'result="ok" share of the probes in the window' },
      {
        bench: b,
        metric: 'operator CPU',
        value: ((cpu1 - cpu0) / seconds) * 100,
        unit: '% of a core',
        note: 'utime+stime of the operator process over the window',
      },
      { bench: b, metric: 'operator RSS', value: rss, unit: 'MiB', note: `VmRSS at the end (peak VmHWM ${hwm.toFixed(0)} MiB)` },
      {
        bench: b,
        metric: 'max probe sessions in flight',
        value: maxSessions,
        unit: 'sessions',
        note: `open Stratum connections at the pool servers, sampled every 20 ms; bound ${bound}`,
      },
      {
        bench: b,
        metric: 'max active miningpool workers',
        value: maxWorkers,
        unit: 'workers',
        note: `controller_runtime_active_workers{controller="miningpool"}, sampled every 0.5 s; bound ${bound}`,
      },
    ];
  } finally {
    sampling = false;
    await op?.proc.stop(15_000);
    for (const s of servers) await s.stop();
    await cp.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (rows) => console.table(rows),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
