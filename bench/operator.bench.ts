// Operator reconcile throughput and latency on a real kube-apiserver + etcd (from the test harness):
//  - cold: 1,000 MinerFleets exist before the operator starts; time until every fleet's
//    status.observedGeneration equals its generation (everything applied, status written);
//  - steady state: fleets patched one at a time; latency from the patch to the status that
//    observed the new generation (watched), plus p50/p99 of the operator's own
//    controller_runtime_reconcile_time_seconds histogram;
//  - the operator process's peak RSS (VmHWM).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Informer } from '../operator/src/runtime/informer.js';
import { KubeRest } from '../operator/src/runtime/rest.js';
import type { KubeObject, ResourceType } from '../operator/src/runtime/resource.js';
import { startControlPlane, REPO_ROOT, freePort, makeTempDir, spawnProcess } from '../test/support/index.js';
import type { BenchRow } from './types.js';

const FLEETS = Number(process.env.OPERATOR_BENCH_FLEETS ?? 1000);
const STEADY_SAMPLES = Number(process.env.OPERATOR_BENCH_SAMPLES ?? 100);
const CONCURRENCY = Number(process.env.OPERATOR_BENCH_CONCURRENCY ?? 8);
const NS = 'bench';
const G = '/apis/minefleet.io/v1alpha1';
const Fleets: ResourceType = { apiVersion: 'minefleet.io/v1alpha1', kind: 'MinerFleet', plural: 'minerfleets', namespaced: true };
type Fleet = KubeObject & { status?: { observedGeneration?: number } };

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Quantile from a Prometheus histogram's cumulative buckets (linear interpolation, as histogram_quantile). */
function histogramQuantile(text: string, name: string, q: number): number {
  const buckets = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}_bucket{`))
    .map((l) => ({ le: Number(/le="([^"]+)"/.exec(l)![1]!.replace('+Inf', 'Infinity')), n: Number(l.split(' ').at(-1)) }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.n ?? 0;
  if (!total) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const b of buckets) {
    if (b.n >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevN)) / Math.max(1, b.n - prevN);
    }
    prevLe = b.le;
    prevN = b.n;
  }
  return prevLe;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`operator bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function run(): Promise<BenchRow[]> {
  const dist = process.env.MINEFLEET_OPERATOR_MAIN ?? path.join(REPO_ROOT, 'dist/operator/minefleet-operator.mjs');
  if (!existsSync(dist)) throw new Error(`operator bench needs the build: run \`npm run build\` first (${dist} missing)`);
  const cp = await startControlPlane();
  const dir = makeTempDir('operator-bench');
  const rest = new KubeRest(cp.kubeConfig);
  let op: ReturnType<typeof spawnProcess> | undefined;
  let watcher: Informer<Fleet> | undefined;
  try {
    const crds = await cp.kubectl(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
    if (crds.code !== 0) throw new Error(`installing CRDs failed: ${crds.stderr}`);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/minerfleets.minefleet.io', 'crd/miningpools.minefleet.io']);
    await rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await rest.create(`/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: NS },
      stringData: { username: 'u', password: 'p' },
    });
    for (const [name, port] of [
      ['primary', 3333],
      ['backup', 4444],
    ] as const)
      await rest.create(`${G}/namespaces/${NS}/miningpools`, {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MiningPool',
        metadata: { name, namespace: NS },
        spec: { url: `stratum+tcp://127.0.0.1:${port}`, coins: ['LTC'], credentialsSecretRef: { name: 'creds' } },
      });
    const names = Array.from({ length: FLEETS }, (_, i) => `f${String(i).padStart(4, '0')}`);
    const createStart = Date.now();
    await pool(names, 16, (name) =>
      rest.create(`${G}/namespaces/${NS}/minerfleets`, {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name, namespace: NS },
        spec: {
          replicas: 1,
          device: { kind: 'cpu' },
          miner: { backend: 'cpu', threads: 1 },
          pools: [
            { name: 'primary', priority: 0 },
            { name: 'backup', priority: 10 },
          ],
        },
      }),
    );
    const createMs = Date.now() - createStart;

    watcher = new Informer<Fleet>(rest, cp.kubeConfig, Fleets, { namespaces: [NS] });
    const observedAt = new Map<string, { gen: number; at: number }>();
    const note = (f: Fleet) => {
      const og = f.status?.observedGeneration;
      if (og !== undefined && og === f.metadata.generation) observedAt.set(f.metadata.name!, { gen: og, at: performance.now() });
    };
    watcher.addEventHandler({ onAdd: note, onUpdate: (_o, f) => note(f) });
    watcher.start();
    await watcher.waitForSync();

    const metricsPort = await freePort();
    const startedAt = performance.now();
    op = spawnProcess({
      name: 'operator-bench',
      command: process.execPath,
      args: [
        dist,
        '--no-leader-elect',
        `--metrics-port=${metricsPort}`,
        `--probe-port=${await freePort()}`,
        '--bind-address=127.0.0.1',
        `--concurrency=${CONCURRENCY}`,
        '--log-level=warn',
        `--watch-namespaces=${NS}`,
      ],
      env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
      logFile: path.join(dir, 'operator.log'),
    });
    await waitUntil(() => observedAt.size >= FLEETS || !op!.running, `${FLEETS} fleets reconciled`, 170_000);
    if (!op.running) throw new Error(`operator exited: ${readFileSync(op.logFile, 'utf8').slice(-2000)}`);
    const coldMs = Math.max(...[...observedAt.values()].map((v) => v.at)) - startedAt;

    // steady state starts once the cold work has drained (queue empty, no worker busy)
    const gauge = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(name + '{'));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const settleEnd = Date.now() + 30_000;
    while (Date.now() < settleEnd && ((await gauge('workqueue_depth')) > 0 || (await gauge('controller_runtime_active_workers')) > 0))
      await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
    // steady state: one fleet at a time, ~20 changes per second
    const latencies: number[] = [];
    for (let i = 0; i < STEADY_SAMPLES; i++) {
      const name = names[(i * 7) % names.length]!;
      const before = watcher.store.getByName(NS, name)!.metadata.generation!;
      const t0 = performance.now();
      await rest.mergePatch(`${G}/namespaces/${NS}/minerfleets/${name}`, { spec: { replicas: 1 + ((before + 1) % 3) } });
      await waitUntil(() => (observedAt.get(name)?.gen ?? 0) > before, `fleet ${name} steady-state reconcile`, 30_000);
      latencies.push(observedAt.get(name)!.at - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    latencies.sort((a, b) => a - b);
    const metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const rss = peakRssMb(op.pid);
    const heapUsed = Number(
      metricsText
        .split('\n')
        .find((l) => l.startsWith('nodejs_heap_size_used_bytes '))
        ?.split(' ')[1] ?? NaN,
    );
    const b = 'operator';
    const n = `${FLEETS} fleets, ${CONCURRENCY} workers, real kube-apiserver+etcd on 2 shared cores`;
    return [
      { bench: b, metric: 'fleets created (setup)', value: createMs / 1000, unit: 's', note: `${FLEETS} MinerFleets, 16 parallel creates` },
      {
        bench: b,
        metric: 'cold reconcile of all fleets',
        value: coldMs / 1000,
        unit: 's',
        note: `${n}; start → every status.observedGeneration == generation (7 objects + status each)`,
      },
      { bench: b, metric: 'cold reconcile throughput', value: FLEETS / (coldMs / 1000), unit: 'fleets/s', note: n },
      {
        bench: b,
        metric: 'steady-state latency p50',
        value: quantile(latencies, 0.5),
        unit: 'ms',
        note: `patch → status observed new generation, ${STEADY_SAMPLES} samples`,
      },
      {
        bench: b,
        metric: 'steady-state latency p99',
        value: quantile(latencies, 0.99),
        unit: 'ms',
        note: `patch → status observed new generation, ${STEADY_SAMPLES} samples`,
      },
      {
        bench: b,
        metric: 'reconcile time p50 (histogram)',
        value: histogramQuantile(metricsText, 'controller_runtime_reconcile_time_seconds', 0.5) * 1000,
        unit: 'ms',
        note: 'controller_runtime_reconcile_time_seconds, cold + steady',
      },
      {
        bench: b,
        metric: 'reconcile time p99 (histogram)',
        value: histogramQuantile(metricsText, 'controller_runtime_reconcile_time_seconds', 0.99) * 1000,
        unit: 'ms',
        note: 'controller_runtime_reconcile_time_seconds, cold + steady',
      },
      {
        bench: b,
        metric: 'operator peak RSS',
        value: rss,
        unit: 'MiB',
        note: `VmHWM of the operator process with ${FLEETS} fleets (+${FLEETS * 7} owned objects) cached`,
      },
      {
        bench: b,
        metric: 'operator heap used (end)',
        value: heapUsed / 2 ** 20,
        unit: 'MiB',
        note: 'nodejs_heap_size_used_bytes after the run (live cache + runtime)',
      },
    ];
  } finally {
    watcher?.stop();
    await op?.stop(10_000);
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
