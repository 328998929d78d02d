// Fleet failover, end to end: the built operator (MiningPool probes + MinerFleet decision) on a
// real kube-apiserver + etcd, two real Stratum test pools, and N miner processes started from the
// fleet's rendered config, each watching the runtime ConfigMap through the API server as pods do
// (test/support/fleetRig.ts). Each trial faults the pool the fleet is on and measures, from the
// fault, the time until EVERY miner has a share accepted at the other pool:
//  - killed: the pool process stops (listener closed, every connection ended);
//  - stalled: the pool keeps the connections but answers nothing and sends no more jobs.
// Then the faulted pool is restored and, once probed Available again, the next trial faults the
// pool the fleet is on now (so trials alternate direction and never wait for a failback:
// failbackAfterSeconds is long here; failback is covered by test/pools).
// Also reported: when the runtime ConfigMap named the other pool (the fleet decision), and how
// miners moved (their own fallback vs the runtime ConfigMap).
//
// Measured 2026-12-02 (`npm run bench -- failover`, 10 miners, 20 trials each, 2 shared cores):
//   killed:  all miners moved p50 3.39 s, p95 3.89 s, max 4.57 s; fleet decision p50 6.8 s, p95 9.8 s
//   stalled: all miners moved p50 5.33 s, p95 5.57 s, max 9.07 s; fleet decision p50 11.3 s, p95 13.7 s
//   all 400 miner moves were their own fallback (fallbackAfterSeconds 3 s, submitTimeoutSeconds 5 s)
//   anchors: xmrig 25 s (5 retries x 5 s), cgminer 90 s dead / 120 s failback
// Run length ~9.5 min (≈ 14 s per trial: fault, move, restore, re-probe).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { KubeRest } from '../operator/src/runtime/rest.js';
import {
  createMinerFleet,
  firstAccepted,
  poolAvailable,
  prepareNamespace,
  requireBuild,
  runtimeOf,
  startFleetMiners,
  startOperatorProcess,
  startProbedPools,
  waitPoolsAvailable,
  workerOf,
  type RestartablePool,
  type RigMiner,
} from '../test/support/fleetRig.js';
import { makeTempDir, sleep, startControlPlane, waitFor } from '../test/support/index.js';
import type { BenchRow } from './types.js';

const MINERS = Number(process.env.FAILOVER_BENCH_MINERS ?? 10);
const TRIALS = Number(process.env.FAILOVER_BENCH_TRIALS ?? 20);
const NICE = Number(process.env.FAILOVER_BENCH_NICE ?? 10);
const PROBE = { intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 2, successThreshold: 1 };
const NS = 'failover-bench';
const FLEET = 'fb';

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Trial {
  mode: 'killed' | 'stalled';
  from: string;
  to: string;
  /** fault → every miner has an accepted share at `to` */
  allMs: number;
  /** fault → first miner's accepted share at `to` */
  firstMs: number;
  /** fault → runtime ConfigMap names `to` */
  decisionMs: number;
}

export async function run(): Promise<BenchRow[]> {
  requireBuild();
  const dir = makeTempDir('failover-bench');
  mkdirSync(path.join(dir, 'miners'));
  const cp = await startControlPlane();
  const rest = new KubeRest(cp.kubeConfig);
  const pools: Record<string, RestartablePool> = {};
  let miners: RigMiner[] = [];
  let op: Awaited<ReturnType<typeof startOperatorProcess>> | undefined;
  try {
    await prepareNamespace(cp, rest, NS);
    Object.assign(pools, await startProbedPools(rest, NS, ['pa', 'pb'], PROBE));
    op = await startOperatorProcess(cp, { dir, namespace: NS, logLevel: 'info' });
    await waitPoolsAvailable(rest, NS, ['pa', 'pb'], 'both pools probed Available');
    await createMinerFleet(
      rest,
      NS,
      FLEET,
      MINERS,
      [
        { name: 'pa', priority: 0 },
        { name: 'pb', priority: 1 },
      ],
      { strategy: 'Priority', failbackAfterSeconds: 86_400 },
    );
    miners = await startFleetMiners(cp, rest, { dir: path.join(dir, 'miners'), namespace: NS, fleet: FLEET, count: MINERS, nice: NICE });
    const workers = miners.map((m) => workerOf(FLEET, m.pod));
    const everyoneAt = (pool: RestartablePool, after: number) => {
      const times = workers.map((w) => firstAccepted(pool, w, after));
      return times.every((t) => t !== undefined) ? times : undefined;
    };
    await waitFor(() => everyoneAt(pools.pa!, 0), { timeoutMs: 120_000, intervalMs: 200, description: `all ${MINERS} miners mining at pa` });

    const trials: Trial[] = [];
    const modes: Array<Trial['mode']> = Array.from({ length: 2 * TRIALS }, (_, i) => (i % 2 === 0 ? 'killed' : 'stalled'));
    let on = 'pa';
    for (const mode of modes) {
      const from = on;
      const to = from === 'pa' ? 'pb' : 'pa';
      // Steady first: the decision names `from`, the other pool is probed Available, everyone mines.
      await waitFor(async () => (await runtimeOf(rest, NS, FLEET))?.activePool === from && (await poolAvailable(rest, NS, to)), {
        timeoutMs: 120_000,
        intervalMs: 200,
        description: `steady on ${from} with ${to} Available`,
      });
      const settle = Date.now();
      await waitFor(() => everyoneAt(pools[from]!, settle), { timeoutMs: 60_000, intervalMs: 100, description: `all miners sharing at ${from}` });

      const t0 = Date.now();
      if (mode === 'killed') await pools[from]!.kill();
      else pools[from]!.stall();
      let decisionAt: number | undefined;
      const times = await waitFor(
        async () => {
          if (decisionAt === undefined && (await runtimeOf(rest, NS, FLEET))?.activePool === to) decisionAt = Date.now();
          return everyoneAt(pools[to]!, t0);
        },
        { timeoutMs: 120_000, intervalMs: 50, description: `${mode} ${from}: all miners accepted at ${to}` },
      );
      decisionAt ??= await waitFor(async () => ((await runtimeOf(rest, NS, FLEET))?.activePool === to ? Date.now() : undefined), {
        timeoutMs: 120_000,
        intervalMs: 50,
        description: `decision names ${to}`,
      });
      trials.push({ mode, from, to, allMs: Math.max(...times) - t0, firstMs: Math.min(...times) - t0, decisionMs: decisionAt - t0 });
      console.error(
        `[failover] trial ${trials.length}/${modes.length} ${mode} ${from}->${to}: all ${trials.at(-1)!.allMs} ms, decision ${trials.at(-1)!.decisionMs} ms`,
      );
      if (mode === 'killed') await pools[from]!.revive();
      else pools[from]!.unstall();
      on = to;
      await sleep(200);
    }

    let local = 0;
    let runtime = 0;
    for (const m of miners) {
      local += await m.metric('minefleet_miner_pool_switches_total', { cause: 'fallback' });
      runtime += await m.metric('minefleet_miner_pool_switches_total', { cause: 'runtime' });
    }
    if (!op.proc.running) throw new Error(`operator exited during the bench: ${op.proc.tail()}`);

    const b = 'failover';
    const setup = `${MINERS} miner processes (1 thread, nice ${NICE}), Priority fleet, probe every ${PROBE.intervalSeconds}s timeout ${PROBE.timeoutSeconds}s failureThreshold ${PROBE.failureThreshold}; real kube-apiserver+etcd, 2 shared cores`;
    const rows: BenchRow[] = [];
    for (const mode of ['killed', 'stalled'] as const) {
      const ts = trials.filter((t) => t.mode === mode);
      const all = ts.map((t) => t.allMs / 1000).sort((x, y) => x - y);
      const dec = ts.map((t) => t.decisionMs / 1000).sort((x, y) => x - y);
      const first = ts.map((t) => t.firstMs / 1000).sort((x, y) => x - y);
      const goal =
        mode === 'killed' ? 'goal p95 <= 5 s' : `goal p95 <= interval x failureThreshold + 5 s = ${PROBE.intervalSeconds * PROBE.failureThreshold + 5} s`;
      const what = `pool ${mode} -> every miner has an accepted share at the backup, ${ts.length} trials`;
      rows.push(
        { bench: b, metric: `${mode}: all miners moved p50`, value: quantile(all, 0.5), unit: 's', note: what },
        { bench: b, metric: `${mode}: all miners moved p95`, value: quantile(all, 0.95), unit: 's', note: `${goal}; ${setup}` },
        { bench: b, metric: `${mode}: all miners moved max`, value: all.at(-1)!, unit: 's', note: what },
        { bench: b, metric: `${mode}: first miner moved p50`, value: quantile(first, 0.5), unit: 's', note: 'fault -> first accepted share at the backup' },
        {
          bench: b,
          metric: `${mode}: fleet decision p50`,
          value: quantile(dec, 0.5),
          unit: 's',
          note: 'fault -> runtime ConfigMap names the backup (probe + MinerFleet reconcile)',
        },
        { bench: b, metric: `${mode}: fleet decision p95`, value: quantile(dec, 0.95), unit: 's', note: 'fault -> runtime ConfigMap names the backup' },
      );
    }
    rows.push(
      {
        bench: b,
        metric: 'miner switches by own fallback',
        value: local,
        unit: 'switches',
        note: 'minefleet_miner_pool_switches_total{cause="fallback"}, all miners, all trials',
      },
      {
        bench: b,
        metric: 'miner switches by runtime ConfigMap',
        value: runtime,
        unit: 'switches',
        note: 'minefleet_miner_pool_switches_total{cause="runtime"}',
      },
      { bench: b, metric: 'anchor: xmrig failover', value: 25, unit: 's', note: 'xmrig docs: retries x retry-pause = 5 x 5 s by default; fails back at once' },
      { bench: b, metric: 'anchor: cgminer pool dead', value: 90, unit: 's', note: 'cgminer: a pool is dead after 90 s without a message' },
      { bench: b, metric: 'anchor: cgminer failback', value: 120, unit: 's', note: 'cgminer --fallback-time default 120 s' },
    );
    for (const mode of ['killed', 'stalled'] as const) {
      const p95 = rows.find((r) => r.metric === `${mode}: all miners moved p95`)!.value;
      rows.push({ bench: b, metric: `${mode}: xmrig anchor / our p95`, value: 25 / p95, unit: 'x', note: 'how many times faster than xmrig default failover' });
    }
    return rows;
  } finally {
    await Promise.all(miners.map((m) => m.proc.stop(10_000)));
    await op?.proc.stop(15_000);
    for (const p of Object.values(pools)) await p.stop();
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
