// History collector at scale: 1,000 MinerFleets and 10,000 miner pods as objects in a real
// kube-apiserver + etcd, each pod Ready with a pod IP on a loopback alias (127.1.x.y) where a load
// generator (bench/collector-loadgen.ts, one listener per address) answers /metrics in the miner's
// exposition and /shares in its share-ring contract; FerretDB as the history store; the built
// operator at its production collector settings (15 s interval, 60 s windows, concurrency 64,
// 5 s timeout). Measured from outside the operator process:
//  - cycle time p50/max: per cycle, from minefleet_collector_cycle_seconds (_sum/_count, polled
//    every second: each step of _count is one cycle, the step of _sum its duration);
//  - CPU seconds per cycle: utime+stime of the operator process (/proc/PID/stat) over the
//    measured cycles / their number (everything the process does: collector, controllers, store);
//  - documents/s into FerretDB: minefleet_store_written_documents_total over the same span;
//  - peak RSS: VmHWM of the operator process, against the 256 MiB target;
//  - the load generator's CPU over the same span (it runs in its own process, so the operator
//    is measured alone; its cores are shown so a starved load generator is seen, not guessed).
// Before/after in one run, on the same objects and machine state: COLLECTOR_BENCH_BEFORE_MAIN=
// another build's dist/operator/minefleet-operator.mjs adds the 'before' variant (COLLECTOR_BENCH_VARIANTS
// picks and orders them).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { labelValue } from '../operator/src/controllers/minerfleet/desired/names.js';
import { FLEET_LABEL } from '../operator/src/controllers/minerfleet/desired/metadata.js';
import { METRICS_PORT_NAME } from '../operator/src/controllers/minerfleet/desired/workload.js';
import { KubeRest } from '../operator/src/runtime/rest.js';
import { createMinerFleet, createMiningPool, prepareNamespace, requireBuild, startOperatorProcess, type OperatorProcess } from '../test/support/fleetRig.js';
import {
  freePort,
  makeTempDir,
  REPO_ROOT,
  runTool,
  binPath,
  sleep,
  spawnProcess,
  startControlPlane,
  startFerretDB,
  waitFor,
  type ManagedProcess,
} from '../test/support/index.js';
import { startStratumPool, type StratumPool } from '../test/support/stratum/index.js';
import { podIp } from './collector-loadgen.js';
import type { BenchRow } from './types.js';

const FLEETS = Number(process.env.COLLECTOR_BENCH_FLEETS ?? 1000);
const PODS_PER_FLEET = Number(process.env.COLLECTOR_BENCH_PODS_PER_FLEET ?? 10);
const CYCLES = Number(process.env.COLLECTOR_BENCH_CYCLES ?? 3);
const WARM_CAP_S = Number(process.env.COLLECTOR_BENCH_WARM_CAP_S ?? 120);
const WINDOW_CAP_S = Number(process.env.COLLECTOR_BENCH_WINDOW_S ?? 75);
const HEAP_CAP_MIB = Number(process.env.COLLECTOR_BENCH_HEAP_CAP_MIB ?? 144);
const CONCURRENCY = 32;
const INTERVAL_S = 15;
const RSS_TARGET_MIB = 256;
const NS = 'collector-bench';
const BEFORE_MAIN = process.env.COLLECTOR_BENCH_BEFORE_MAIN;

async function pool<T>(items: readonly T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
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

/** utime and stime of a process, or of one of its threads (`/proc/PID/task/TID/stat`), in seconds. */
function cpuTimes(statPath: string): { user: number; system: number } {
  // fields after the ")" of comm: state is 3rd field; utime, stime are fields 14, 15 (1-based)
  const stat = readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / 100, system: Number(f[12]) / 100 }; // USER_HZ is 100 on Linux
}

function cpuSeconds(pid: number): number {
  const t = cpuTimes(`/proc/${pid}/stat`);
  return t.user + t.system;
}

function procStatusMib(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.split(' ').at(-1));
    found = true;
  }
  return found ? sum : NaN;
}

interface Setup {
  cp: Awaited<ReturnType<typeof startControlPlane>>;
  rest: KubeRest;
  port: number;
  createFleetsS: number;
  createPodsS: number;
}

async function populate(cp: Setup['cp'], rest: KubeRest, port: number, poolUrls: [string, string]): Promise<Omit<Setup, 'cp' | 'rest' | 'port'>> {
  await prepareNamespace(cp, rest, NS);
  // Real Stratum pools, probed rarely: every variant starts on the same state (both Available).
  // Dead pools made the variants unequal: each operator start probed them once more, and the
  // third start crossed failureThreshold, so that variant reconciled all 1,000 fleets again.
  const probe = { intervalSeconds: 300, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 };
  await createMiningPool(rest, NS, 'primary', poolUrls[0], probe);
  await createMiningPool(rest, NS, 'backup', poolUrls[1], probe);
  const fleets = Array.from({ length: FLEETS }, (_, i) => `f${String(i).padStart(4, '0')}`);
  let t = Date.now();
  await pool(fleets, CONCURRENCY, (name) =>
    createMinerFleet(
      rest,
      NS,
      name,
      PODS_PER_FLEET,
      [
        { name: 'primary', priority: 0 },
        { name: 'backup', priority: 1 },
      ],
      { strategy: 'Priority', failbackAfterSeconds: 300 },
    ),
  );
  const createFleetsS = (Date.now() - t) / 1000;
  // Pods as a kubelet would report them: Ready, with an IP; the status goes through its subresource.
  const pods = Array.from({ length: FLEETS * PODS_PER_FLEET }, (_, i) => ({ i, fleet: fleets[Math.floor(i / PODS_PER_FLEET)]! }));
  t = Date.now();
  await pool(pods, CONCURRENCY, async ({ i, fleet }) => {
    const name = `${fleet}-miner-${i % PODS_PER_FLEET}`;
    await rest.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { [FLEET_LABEL]: labelValue(fleet), app: 'minefleet-miner' } },
      spec: {
        nodeName: `node-${i % 50}`,
        containers: [{ name: 'miner', image: 'minefleet:bench', ports: [{ name: METRICS_PORT_NAME, containerPort: port }] }],
      },
    });
    const now = new Date().toISOString();
    await rest.mergePatch(`/api/v1/namespaces/${NS}/pods/${name}/status`, {
      status: {
        phase: 'Running',
        podIP: podIp(i),
        podIPs: [{ ip: podIp(i) }],
        startTime: now,
        conditions: [
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
          { type: 'Ready', status: 'True', lastTransitionTime: now },
        ],
      },
    });
  });
  return { createFleetsS, createPodsS: (Date.now() - t) / 1000 };
}

interface Poll {
  text: string;
  count: number;
  sum: number;
  scrapes: number;
  queue: number;
  heapUsed: number;
  cpu: number;
  /** the process's kernel time (stime), part of cpu */
  cpuSystem: number;
  /** the main thread's (JavaScript's) utime+stime, part of cpu; the rest is GC helpers and libuv */
  cpuMain: number;
  loadgenCpu: number;
  /** minefleet_store_buffered_documents, memory + spill */
  buffered: number;
  spilled: number;
  overruns: number;
  statusWrites: number;
  /** samples the collector handed to the store */
  samplesHanded: number;
  reconciles: number;
  at: number;
}

interface Measured {
  variant: string;
  /** durations of the cycles that ran wholly inside the window */
  cycles: number[];
  firstCycleS: number | undefined;
  windowS: number;
  scrapesPerS: number;
  cpuPerFullCycle: number;
  cpuCores: number;
  cpuMainShare: number;
  cpuSystemShare: number;
  loadgenCores: number;
  maxBuffered: number;
  spilledInWindow: number;
  /** NaN for a build without the overrun counter */
  overruns: number;
  reconcilesPerS: number;
  docsPerS: Record<string, number>;
  peakRssMib: number;
  minHeapUsedMib: number;
  targets: number;
  scrapeErrors: number;
  statusWrites: number;
  queueAtStart: number;
  queueAtEnd: number;
  coldToFirstCycleS: number | undefined;
}

/**
 * Starts the operator and polls it every second. Warm-up: until the first cycle completes (cold
 * caches, first baselines, the MinerFleet controller's cold reconcile) or WARM_CAP_S. Then the
 * window: until CYCLES cycles complete or WINDOW_CAP_S. Cycles start at a fixed rate (one per
 * interval): one that runs past the next start is an overrun, counted by the operator.
 */
async function measure(s: Setup, dir: string, fdbUri: string, variant: Variant, pods: number, loadgenPid: number): Promise<Measured> {
  let op: OperatorProcess | undefined;
  const nodeOptions = variant.nodeOptions;
  try {
    op = await startOperatorProcess(s.cp, {
      dir,
      identity: `op-${variant.name}`,
      namespace: NS,
      logLevel: 'warn',
      historyUri: fdbUri,
      extraArgs: [`--collector-interval=${INTERVAL_S}`, `--history-db=collector_bench_${variant.name.replace(/\W/g, '_')}`, ...variant.args],
      ...(nodeOptions ? { nodeOptions } : {}),
      ...(variant.main ? { main: variant.main } : {}),
    });
    const o = op;
    // One retry: a keep-alive socket the operator closes as the poll reuses it fails the fetch
    // ("fetch failed", ECONNRESET) while the operator is fine; a second failure is real.
    const metricsText = async (): Promise<string> => {
      try {
        return await o.metrics();
      } catch (err) {
        console.error(`[collector] ${variant.name}: /metrics poll failed (${String((err as Error).cause ?? err)}), retrying once`);
        await sleep(500);
        return o.metrics();
      }
    };
    const poll = async (): Promise<Poll> => {
      const text = await metricsText();
      const proc = cpuTimes(`/proc/${o.proc.pid}/stat`);
      const main = cpuTimes(`/proc/${o.proc.pid}/task/${o.proc.pid}/stat`);
      return {
        text,
        count: metricValue(text, 'minefleet_collector_cycle_seconds_count'),
        sum: metricValue(text, 'minefleet_collector_cycle_seconds_sum'),
        scrapes: metricValue(text, 'minefleet_collector_scrapes_total'),
        queue: metricValue(text, 'workqueue_depth', 'controller="minerfleet"'),
        heapUsed: metricValue(text, 'nodejs_heap_size_used_bytes'),
        cpu: proc.user + proc.system,
        cpuSystem: proc.system,
        cpuMain: main.user + main.system,
        loadgenCpu: cpuSeconds(loadgenPid),
        buffered: metricValue(text, 'minefleet_store_buffered_documents') || 0,
        spilled: metricValue(text, 'minefleet_store_spilled_documents_total') || 0,
        // NaN for a build without the counter
        overruns: metricValue(text, 'minefleet_collector_cycle_overruns_total'),
        statusWrites: metricValue(text, 'minefleet_collector_status_writes_total') || 0,
        samplesHanded: metricValue(text, 'minefleet_collector_documents_total', 'collection="samples"') || 0,
        reconciles: metricValue(text, 'controller_runtime_reconcile_total', 'controller="minerfleet"') || 0,
        at: Date.now(),
      };
    };
    const written = (text: string) =>
      Object.fromEntries(
        ['samples', 'rollups', 'shares'].map((c) => [c, metricValue(text, 'minefleet_store_written_documents_total', `collection="${c}"`) || 0]),
      );
    const started = Date.now();
    let minHeap = Infinity;
    let maxBuffered = 0;
    let inWindow = false;
    const tick = async (): Promise<Poll> => {
      if (!o.proc.running) throw new Error(`operator exited: ${o.log().slice(-2000)}`);
      await sleep(1000);
      const m = await poll();
      minHeap = Math.min(minHeap, m.heapUsed);
      if (inWindow) maxBuffered = Math.max(maxBuffered, m.buffered);
      return m;
    };
    let m = await tick();
    while (m.count < 1 && Date.now() - started < WARM_CAP_S * 1000) m = await tick();
    const firstCycleS = m.count >= 1 ? m.sum : undefined;
    const coldToFirstCycleS = m.count >= 1 ? (Date.now() - started) / 1000 : undefined;
    console.error(
      `[collector] ${variant.name}: ${firstCycleS !== undefined ? `first cycle ${firstCycleS.toFixed(1)} s, done ${coldToFirstCycleS!.toFixed(0)} s after start` : `no cycle within ${WARM_CAP_S} s`}; minerfleet queue ${m.queue}`,
    );
    const begin = m;
    inWindow = true;
    let prev = m;
    let lastCycle = m;
    const cycles: number[] = [];
    while (cycles.length < CYCLES && Date.now() - begin.at < WINDOW_CAP_S * 1000) {
      m = await tick();
      if (m.count > prev.count) {
        // _count steps once per cycle; polled each second, one step is one cycle (a cycle is never < 1 s here)
        cycles.push((m.sum - prev.sum) / (m.count - prev.count));
        console.error(
          `[collector] ${variant.name}: cycle ${cycles.length}/${CYCLES} ${cycles.at(-1)!.toFixed(2)} s, RSS ${procStatusMib(o.proc.pid, 'VmRSS').toFixed(0)} MiB, ` +
            `status writes +${m.statusWrites - lastCycle.statusWrites}, samples +${m.samplesHanded - lastCycle.samplesHanded}, ` +
            `store backlog ${m.buffered}`,
        );
        lastCycle = m;
      }
      prev = m;
    }
    const end = m;
    const windowS = (end.at - begin.at) / 1000;
    const scrapes = end.scrapes - begin.scrapes;
    const cpu = end.cpu - begin.cpu;
    const w0 = written(begin.text);
    const w1 = written(end.text);
    return {
      variant: variant.name,
      cycles,
      firstCycleS,
      coldToFirstCycleS,
      windowS,
      scrapesPerS: scrapes / windowS,
      cpuPerFullCycle: scrapes > 0 ? (cpu / scrapes) * pods : NaN,
      cpuCores: cpu / windowS,
      cpuMainShare: (end.cpuMain - begin.cpuMain) / cpu,
      cpuSystemShare: (end.cpuSystem - begin.cpuSystem) / cpu,
      maxBuffered,
      spilledInWindow: end.spilled - begin.spilled,
      overruns: end.overruns - begin.overruns,
      reconcilesPerS: (end.reconciles - begin.reconciles) / windowS,
      loadgenCores: (end.loadgenCpu - begin.loadgenCpu) / windowS,
      docsPerS: Object.fromEntries(Object.keys(w1).map((k) => [k, (w1[k]! - w0[k]!) / windowS])),
      peakRssMib: procStatusMib(o.proc.pid, 'VmHWM'),
      minHeapUsedMib: minHeap / 2 ** 20,
      targets: metricValue(end.text, 'minefleet_collector_targets'),
      scrapeErrors: metricValue(end.text, 'minefleet_collector_scrapes_total', 'result="error"') || 0,
      statusWrites: metricValue(end.text, 'minefleet_collector_status_writes_total') || 0,
      queueAtStart: begin.queue,
      queueAtEnd: end.queue,
    };
  } finally {
    await op?.proc.stop(30_000);
  }
}

function rowsOf(m: Measured, pods: number): BenchRow[] {
  const b = 'collector';
  const c = [...m.cycles].sort((x, y) => x - y);
  const v = `[${m.variant}]`;
  const setup = `${FLEETS} fleets, ${pods} pods, ${INTERVAL_S} s interval; window ${m.windowS.toFixed(0)} s after the first cycle`;
  const total = Object.values(m.docsPerS).reduce((a, x) => a + x, 0);
  const rows: BenchRow[] = [
    {
      bench: b,
      metric: `${v} first cycle (cold)`,
      value: m.firstCycleS ?? NaN,
      unit: 's',
      note:
        m.coldToFirstCycleS !== undefined
          ? `ended ${m.coldToFirstCycleS.toFixed(0)} s after the operator started; overlaps the MinerFleet cold reconcile`
          : `not done within ${WARM_CAP_S} s`,
    },
    { bench: b, metric: `${v} cycles completed in window`, value: c.length, unit: 'cycles', note: setup },
  ];
  if (c.length > 0)
    rows.push(
      { bench: b, metric: `${v} cycle time p50`, value: quantile(c, 0.5), unit: 's', note: `goal < ${INTERVAL_S} s (keeps up with the interval)` },
      { bench: b, metric: `${v} cycle time max`, value: c.at(-1)!, unit: 's', note: `${c.length} cycles` },
    );
  rows.push(
    {
      bench: b,
      metric: `${v} scrape throughput`,
      value: m.scrapesPerS,
      unit: 'pods/s',
      note: `pods scraped (/metrics + /shares) per second in the window; ${INTERVAL_S} s needs ${(pods / INTERVAL_S).toFixed(0)}/s`,
    },
    {
      bench: b,
      metric: `${v} cycle overruns`,
      value: m.overruns,
      unit: 'cycles',
      note: `cycles in the window that ran past the next start (minefleet_collector_cycle_overruns_total); goal 0${Number.isNaN(m.overruns) ? ' (this build has no such counter)' : ''}`,
    },
    {
      bench: b,
      metric: `${v} MinerFleet reconciles`,
      value: m.reconcilesPerS,
      unit: 'per s',
      note: 'controller_runtime_reconcile_total{controller="minerfleet"} per second over the window',
    },
    {
      bench: b,
      metric: `${v} CPU per cycle`,
      value: m.cpuPerFullCycle,
      unit: 'CPU s',
      note: `operator utime+stime per ${pods} scrapes (collector + controllers + store); ${m.cpuCores.toFixed(2)} cores busy in the window`,
    },
    {
      bench: b,
      metric: `${v} CPU: main thread share`,
      value: m.cpuMainShare,
      unit: 'x',
      note: `of the operator's CPU, the JavaScript thread's part (the rest: GC helper and libuv threads); kernel time (stime) ${(100 * m.cpuSystemShare).toFixed(0)}% of all`,
    },
    {
      bench: b,
      metric: `${v} store backlog, max`,
      value: m.maxBuffered,
      unit: 'docs',
      note: `minefleet_store_buffered_documents (memory + spill) at its highest in the window; ${m.spilledInWindow} documents spilled to disk in the window`,
    },
    {
      bench: b,
      metric: `${v} load generator CPU`,
      value: m.loadgenCores,
      unit: 'cores',
      note: 'its own process, same window: what the load generator took of the 2 cores',
    },
    {
      bench: b,
      metric: `${v} documents into FerretDB`,
      value: total,
      unit: 'docs/s',
      note: Object.entries(m.docsPerS)
        .map(([k, x]) => `${k} ${x.toFixed(1)}/s`)
        .join(', '),
    },
    { bench: b, metric: `${v} samples into FerretDB`, value: m.docsPerS.samples!, unit: 'docs/s', note: '60 s windows: one sample per pod per window closed' },
    {
      bench: b,
      metric: `${v} operator peak RSS`,
      value: m.peakRssMib,
      unit: 'MiB',
      note: `VmHWM over the run; target <= ${RSS_TARGET_MIB} MiB: ${m.peakRssMib <= RSS_TARGET_MIB ? 'met' : 'OVER'}`,
    },
    { bench: b, metric: `${v} peak RSS / target`, value: m.peakRssMib / RSS_TARGET_MIB, unit: 'x', note: `${RSS_TARGET_MIB} MiB target` },
    {
      bench: b,
      metric: `${v} heap used, lowest poll`,
      value: m.minHeapUsedMib,
      unit: 'MiB',
      note: 'nodejs_heap_size_used_bytes, lowest of the 1 s polls (near the live set)',
    },
    {
      bench: b,
      metric: `${v} scrape targets`,
      value: m.targets,
      unit: 'pods',
      note: `scrape errors ${m.scrapeErrors}; status writes ${m.statusWrites}; minerfleet workqueue ${m.queueAtStart} -> ${m.queueAtEnd} over the window`,
    },
  );
  return rows;
}

interface Variant {
  name: string;
  args: string[];
  nodeOptions?: string;
  /** another build's operator entry point */
  main?: string;
}

/** The operator's command and NODE_OPTIONS as the chart's default values render its Deployment. */
async function chartOperator(): Promise<{ main: string; nodeOptions: string | undefined }> {
  const r = await runTool(binPath('helm'), ['template', 'bench', path.join(REPO_ROOT, 'helm', 'minefleet'), '--show-only', 'templates/deployment.yaml']);
  if (r.code !== 0) throw new Error(`helm template: ${r.stderr}`);
  type Container = { command?: string[]; env?: Array<{ name: string; value?: string }> };
  const dep = parseYaml(r.stdout) as { spec: { template: { spec: { containers: Container[] } } } };
  const c = dep.spec.template.spec.containers[0]!;
  const script = c.command?.[1];
  if (c.command?.[0] !== 'node' || !script) throw new Error(`the chart's operator command is not \`node <script>\`: ${JSON.stringify(c.command)}`);
  // The command is relative to the image's WORKDIR, which holds what the repository's dist/ holds.
  return { main: path.join(REPO_ROOT, script), nodeOptions: c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value };
}

/**
 * Variants run one after the other against the same objects (env COLLECTOR_BENCH_VARIANTS=name,name):
 * production as the chart runs it (its command, the bundled operator, and its NODE_OPTIONS),
 * unbundled (the compiled entry point dist/operator/src/main.js with the same NODE_OPTIONS),
 * node-default (the chart's command without NODE_OPTIONS: Node's heap sizing), heap-cap at
 * COLLECTOR_BENCH_HEAP_CAP_MIB (or with COLLECTOR_BENCH_NODE_OPTIONS), heap-cap-<MiB>[-semi-<MiB>] at that old-space (and semi-space) size, before = another build as production.
 */
async function variants(): Promise<Record<string, Variant>> {
  const chart = await chartOperator();
  const opts = (o: string | undefined) => (o ? { nodeOptions: o } : {});
  // COLLECTOR_BENCH_BEFORE_NODE_OPTIONS (empty: none) compares a build that predates the chart's setting.
  const beforeOptions = process.env.COLLECTOR_BENCH_BEFORE_NODE_OPTIONS ?? chart.nodeOptions;
  return {
    production: { name: 'production', args: [], main: chart.main, ...opts(chart.nodeOptions) },
    unbundled: { name: 'unbundled', args: [], main: path.join(REPO_ROOT, 'dist/operator/src/main.js'), ...opts(chart.nodeOptions) },
    'node-default': { name: 'node-default', args: [], main: chart.main },
    'heap-cap': {
      name: 'heap-cap',
      args: [],
      main: chart.main,
      nodeOptions: process.env.COLLECTOR_BENCH_NODE_OPTIONS ?? `--max-old-space-size=${HEAP_CAP_MIB}`,
    },
    ...(BEFORE_MAIN ? { before: { name: 'before', args: [], main: BEFORE_MAIN, ...opts(beforeOptions) } } : {}),
  };
}

export async function run(): Promise<BenchRow[]> {
  requireBuild();
  const dir = makeTempDir('collector-bench');
  const fdb = await startFerretDB();
  const cp = await startControlPlane();
  const rest = new KubeRest(cp.kubeConfig);
  let loadgen: ManagedProcess | undefined;
  const stratum: StratumPool[] = [];
  try {
    const port = await freePort();
    loadgen = spawnProcess({
      name: 'collector-loadgen',
      command: process.execPath,
      args: ['--import', 'tsx', path.join(REPO_ROOT, 'bench/collector-loadgen.ts'), `--port=${port}`, `--pods=${FLEETS * PODS_PER_FLEET}`],
      logFile: path.join(dir, 'loadgen.log'),
      cwd: REPO_ROOT,
    });
    const lg = loadgen;
    const setupStart = Date.now();
    stratum.push(await startStratumPool(), await startStratumPool());
    const populated = await populate(cp, rest, port, [stratum[0]!.url, stratum[1]!.url]);
    await waitFor(() => readFileSync(lg.logFile, 'utf8').includes('loadgen ready') || (lg.running ? undefined : Promise.reject(new Error(lg.tail()))), {
      timeoutMs: 60_000,
      description: 'load generator listening',
    });
    console.error(
      `[collector] setup ${((Date.now() - setupStart) / 1000).toFixed(1)} s (fleets ${populated.createFleetsS.toFixed(1)} s, pods ${populated.createPodsS.toFixed(1)} s)`,
    );
    const s: Setup = { cp, rest, port, ...populated };
    const VARIANTS = await variants();
    const wanted = (process.env.COLLECTOR_BENCH_VARIANTS ?? 'production,unbundled').split(',');
    const results: Measured[] = [];
    const pods = FLEETS * PODS_PER_FLEET;
    for (const v of wanted) {
      // heap-cap-<MiB>[-semi-<MiB>][-<tag>]: the chart's command at that --max-old-space-size (and
      // --max-semi-space-size), so several heap settings run side by side; a tag tells apart two
      // runs of one setting (e.g. -cold: the first variant, which also creates the fleets' objects).
      const cap = /^heap-cap-(\d+)(?:-semi-(\d+))?(?:-[a-z]+)?$/.exec(v);
      const capOptions = cap && [`--max-old-space-size=${cap[1]}`, ...(cap[2] ? [`--max-semi-space-size=${cap[2]}`] : [])].join(' ');
      const variant = capOptions ? { name: v, args: [], main: VARIANTS.production!.main!, nodeOptions: capOptions } : VARIANTS[v];
      if (!variant) throw new Error(`unknown variant '${v}' (known: ${Object.keys(VARIANTS).join(', ')}, heap-cap-<MiB>[-semi-<MiB>])`);
      const resets = () => readFileSync(lg.logFile, 'utf8').split('loadgen reset').length;
      const before = resets();
      process.kill(lg.pid, 'SIGUSR2');
      await waitFor(() => resets() > before || undefined, { timeoutMs: 10_000, description: 'load generator reset' });
      results.push(await measure(s, dir, fdb.uri, variant, pods, lg.pid));
    }
    const rows: BenchRow[] = [
      { bench: 'collector', metric: 'setup: fleets created', value: s.createFleetsS, unit: 's', note: `${FLEETS} MinerFleets, ${CONCURRENCY} in flight` },
      {
        bench: 'collector',
        metric: 'setup: pods created + status',
        value: s.createPodsS,
        unit: 's',
        note: `${pods} pods (create + status patch), ${CONCURRENCY} in flight`,
      },
      {
        bench: 'collector',
        metric: 'load generator RSS',
        value: lg.running ? procStatusMib(lg.pid, 'VmHWM') : NaN,
        unit: 'MiB',
        note: `${pods} listeners on 127.1.x.y:${port}`,
      },
      ...results.flatMap((m) => rowsOf(m, pods)),
    ];
    // What the shared MinerFleet cache holds per object, and what trimming it would save.
    const list = await rest.get<{ items: Array<{ metadata: Record<string, unknown> & { annotations?: Record<string, string> } }> }>(
      `/apis/minefleet.io/v1alpha1/namespaces/${NS}/minerfleets`,
    );
    const full = list.items.reduce((a, f) => a + JSON.stringify(f).length, 0);
    const trimmed = list.items.reduce((a, f) => {
      const { managedFields: _m, ...metadata } = f.metadata;
      const annotations = { ...(f.metadata.annotations ?? {}) };
      delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
      return a + JSON.stringify({ ...f, metadata: { ...metadata, annotations } }).length;
    }, 0);
    rows.push(
      {
        bench: 'collector',
        metric: 'fleet cache, JSON size',
        value: full / 2 ** 20,
        unit: 'MiB',
        note: `${list.items.length} MinerFleets as listed (spec + status + managedFields)`,
      },
      {
        bench: 'collector',
        metric: 'fleet cache without managedFields',
        value: trimmed / 2 ** 20,
        unit: 'MiB',
        note: 'what a managedFields/last-applied transform would keep',
      },
    );
    // The operator's other caches (owned kinds, stripped of managedFields as their informers do):
    // where the memory of 1,000 fleets goes besides the collector.
    const owned: Array<[string, string]> = [
      ['deployments', `/apis/apps/v1/namespaces/${NS}/deployments`],
      ['configmaps', `/api/v1/namespaces/${NS}/configmaps`],
      ['services', `/api/v1/namespaces/${NS}/services`],
      ['serviceaccounts', `/api/v1/namespaces/${NS}/serviceaccounts`],
      ['roles', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`],
      ['rolebindings', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`],
      ['networkpolicies', `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`],
    ];
    for (const [kind, url] of owned) {
      const l = await rest.get<{ items: Array<{ metadata: Record<string, unknown> }> }>(url);
      const bytes = l.items.reduce((a, o) => {
        const { managedFields: _m, ...metadata } = o.metadata;
        return a + JSON.stringify({ ...o, metadata }).length;
      }, 0);
      rows.push({
        bench: 'collector',
        metric: `owned cache: ${kind}, JSON size`,
        value: bytes / 2 ** 20,
        unit: 'MiB',
        note: `${l.items.length} objects, without managedFields`,
      });
    }
    if (results.length === 2) {
      const [a, b] = results as [Measured, Measured];
      rows.push({
        bench: 'collector',
        metric: `peak RSS ${b.variant} / ${a.variant}`,
        value: b.peakRssMib / a.peakRssMib,
        unit: 'x',
        note: 'same objects, same run',
      });
    }
    const before = results.find((r) => r.variant === 'before');
    const after = results.find((r) => r.variant === 'production');
    if (before && after) {
      const ratio = (metric: string, a: number, b: number, unit: string) =>
        rows.push({
          bench: 'collector',
          metric: `production / before: ${metric}`,
          value: a / b,
          unit: 'x',
          note: `${a.toFixed(2)} vs ${b.toFixed(2)} ${unit}`,
        });
      ratio('scrape throughput', after.scrapesPerS, before.scrapesPerS, 'pods/s');
      ratio('CPU per cycle', after.cpuPerFullCycle, before.cpuPerFullCycle, 'CPU s');
      ratio('peak RSS', after.peakRssMib, before.peakRssMib, 'MiB');
    }
    return rows;
  } finally {
    await loadgen?.stop(10_000);
    for (const p of stratum) await p.stop();
    await cp.stop();
    await fdb.stop();
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
