/**
 * The operator's /metrics for real probed pools (the built operator as a process, real Stratum
 * test pools): minefleet_pool_up, the minefleet_pool_probe_duration_seconds histogram,
 * minefleet_pool_probes_total{result} and minefleet_pool_circuit_state agree with each other and
 * with the pools' status, and follow a pool that dies and comes back. The two phases of a probe
 * apart: minefleet_pool_connect_duration_seconds for every probe that connected (a pool that
 * accepts the connection and never sends work too), minefleet_pool_first_job_duration_seconds for
 * successful probes only; the probe records in the history store (FerretDB) carry connectMs the
 * same way. No pool password in them.
 */
import { MongoClient } from 'mongodb';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { freePort, makeTempDir, startControlPlane, startFerretDB, waitFor, type ControlPlane, type FerretDB } from '../support/index.js';
import {
  capturedOutputs,
  createMiningPool,
  G,
  prepareNamespace,
  requireBuild,
  RIG_POOL_PASSWORD,
  startOperatorProcess,
  startRestartablePool,
  type OperatorProcess,
  type RestartablePool,
} from '../support/fleetRig.js';

type Any = any;
const NS = 'pool-metrics';
const PROBE = { intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 1, successThreshold: 1 };
const HISTORY_DB = `pool_metrics_${process.pid}`;
const CONNECT = 'minefleet_pool_connect_duration_seconds';
const FIRST_JOB = 'minefleet_pool_first_job_duration_seconds';

let cp: ControlPlane;
let ferret: FerretDB;
let rest: KubeRest;
let op: OperatorProcess;
const pools: RestartablePool[] = [];

interface Histogram {
  /** [le, cumulative count], ascending le */
  buckets: Array<[number, number]>;
  sum: number;
  count: number;
}

interface Families {
  type(name: string): string | undefined;
  /** One histogram series (the parser drops histogram labels, so read the text). */
  histogram(name: string, labels: Record<string, string>): Histogram | undefined;
  /** Samples of a family whose labels include `labels`. */
  samples(name: string, labels: Record<string, string>): Array<Any>;
  value(name: string, labels: Record<string, string>): number | undefined;
}

function labelsOf(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
}

async function scrape(): Promise<Families> {
  const text = await op.metrics();
  const families = parsePrometheusTextFormat(text);
  const series = text
    .split('\n')
    .map((l) => /^([a-z_]+)\{(.*)\} (\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, labels: labelsOf(m[2]!), value: Number(m[3]) }));
  // prom-client writes counters as `# TYPE x_total counter`; the parser may drop the suffix.
  const fam = (name: string) => families.find((f) => f.name === name) ?? families.find((f) => f.name === name.replace(/_total$/, ''));
  const samples = (name: string, labels: Record<string, string>) =>
    (fam(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return {
    type: (name) => fam(name)?.type,
    histogram: (name, labels) => {
      const mine = series.filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      const count = mine.find((x) => x.name === `${name}_count`);
      if (!count) return undefined;
      return {
        count: count.value,
        sum: mine.find((x) => x.name === `${name}_sum`)?.value ?? NaN,
        buckets: mine
          .filter((x) => x.name === `${name}_bucket`)
          .map((x) => [x.labels.le === '+Inf' ? Infinity : Number(x.labels.le), x.value] as [number, number])
          .sort((a, b) => a[0] - b[0]),
      };
    },
    samples,
    value: (name, labels) => {
      const s = samples(name, labels);
      return s.length ? s.reduce((a, m) => a + Number(m.value), 0) : undefined;
    },
  };
}

/** result label -> count, for one pool. */
function probeResults(f: Families, pool: string): Record<string, number> {
  return Object.fromEntries(f.samples('minefleet_pool_probes_total', { namespace: NS, pool }).map((m) => [m.labels.result, Number(m.value)]));
}

function circuitOf(f: Families, pool: string): string[] {
  return f
    .samples('minefleet_pool_circuit_state', { namespace: NS, pool })
    .filter((m) => Number(m.value) === 1)
    .map((m) => m.labels.state);
}

beforeAll(async () => {
  requireBuild();
  const dir = makeTempDir('pool-metrics');
  [cp, ferret] = await Promise.all([startControlPlane(), startFerretDB()]);
  rest = new KubeRest(cp.kubeConfig);
  await prepareNamespace(cp, rest, NS);
  const good = await startRestartablePool('good');
  const stalled = await startRestartablePool('stalled');
  stalled.stall();
  const rejecting = await startRestartablePool('rejecting', { behavior: { rejectAuthorize: true } });
  // Accepts the login, never sends a job (the probe ends NoWork at its timeout).
  const nowork = await startRestartablePool('nowork', { behavior: { neverSendJob: true } });
  pools.push(good, stalled, rejecting, nowork);
  await createMiningPool(rest, NS, 'good', good.url, PROBE);
  await createMiningPool(rest, NS, 'stalled', stalled.url, PROBE);
  await createMiningPool(rest, NS, 'nowork', nowork.url, PROBE);
  await createMiningPool(rest, NS, 'rejecting', rejecting.url, PROBE);
  await createMiningPool(rest, NS, 'refused', `stratum+tcp://127.0.0.1:${await freePort()}`, PROBE);
  op = await startOperatorProcess(cp, { dir, namespace: NS, historyUri: ferret.uri, extraArgs: [`--history-db=${HISTORY_DB}`] });
}, 240_000);

afterAll(async () => {
  await op?.proc.stop(15_000);
  for (const p of pools) await p.stop();
  await cp?.stop();
  await ferret?.stop();
});

/** The connect and first-job histograms against the probe counter: connect for every probe that connected, first job for ok ones. */
function expectPhaseHistograms(f: Families, pool: string): void {
  const results = probeResults(f, pool);
  const count = (name: string) => f.histogram(name, { namespace: NS, pool })?.count ?? 0;
  // ConnectFailed is the one result of a probe that never got a connection (plain TCP pools here).
  const connected = Object.entries(results).reduce((a, [r, n]) => (r === 'ConnectFailed' ? a : a + n), 0);
  expect(count(CONNECT), `${pool} connect samples`).toBe(connected);
  expect(count(FIRST_JOB), `${pool} first-job samples`).toBe(results.ok ?? 0);
  // No series at all where there is nothing to observe (never a made-up 0).
  if (connected === 0) expect(f.histogram(CONNECT, { namespace: NS, pool }), `${pool} connect series`).toBeUndefined();
  if (!results.ok) expect(f.histogram(FIRST_JOB, { namespace: NS, pool }), `${pool} first-job series`).toBeUndefined();
}

describe('pool metrics on the operator /metrics', () => {
  const expected = {
    good: { up: 1, circuit: 'Closed', result: 'ok' },
    stalled: { up: 0, circuit: 'Open', result: 'Timeout' },
    rejecting: { up: 0, circuit: 'Open', result: 'AuthorizeRejected' },
    nowork: { up: 0, circuit: 'Open', result: 'NoWork' },
    refused: { up: 0, circuit: 'Open', result: 'ConnectFailed' },
  } as const;

  it('pool_up, probes_total{result}, probe duration histogram and circuit state agree with each other and with status', async () => {
    // Every pool probed at least twice (the failing ones on their Open back-off).
    const f = await waitFor(
      async () => {
        const s = await scrape();
        return Object.keys(expected).every((p) => Object.values(probeResults(s, p)).reduce((a, b) => a + b, 0) >= 2) ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: 'two probes of every pool in /metrics' },
    );
    expect(f.type('minefleet_pool_up')).toBe('GAUGE');
    expect(f.type('minefleet_pool_probes_total')).toBe('COUNTER');
    expect(f.type('minefleet_pool_probe_duration_seconds')).toBe('HISTOGRAM');
    expect(f.type('minefleet_pool_circuit_state')).toBe('GAUGE');
    expect(f.type(CONNECT)).toBe('HISTOGRAM');
    expect(f.type(FIRST_JOB)).toBe('HISTOGRAM');

    for (const [pool, want] of Object.entries(expected)) {
      expect(f.value('minefleet_pool_up', { namespace: NS, pool }), `${pool} up`).toBe(want.up);
      const results = probeResults(f, pool);
      expect(Object.keys(results), `${pool} probe results`).toEqual([want.result]);
      const probes = results[want.result]!;
      // the histogram saw exactly the probes the counter counted
      const h = f.histogram('minefleet_pool_probe_duration_seconds', { namespace: NS, pool })!;
      expect(h.count, `${pool} histogram count`).toBe(probes);
      expect(h.sum).toBeGreaterThan(0);
      const buckets = h.buckets;
      expect(buckets.length).toBeGreaterThan(1);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
      expect(buckets.at(-1)![1]).toBe(probes);
      expectPhaseHistograms(f, pool);
      // one-hot circuit state, the same as status.circuit
      expect(circuitOf(f, pool), `${pool} circuit`).toEqual([want.circuit]);
      const mp = await rest.get<Any>(`${G}/namespaces/${NS}/miningpools/${pool}`);
      expect(mp.status.circuit).toBe(want.circuit);
      expect(mp.status.conditions.find((c: Any) => c.type === 'Available').reason).toBe(want.result === 'ok' ? 'ProbeSucceeded' : want.result);
    }
    // A stalled pool's probe ends at its timeout (2 s): none of them fits in the 1 s bucket.
    const stalledH = f.histogram('minefleet_pool_probe_duration_seconds', { namespace: NS, pool: 'stalled' })!;
    expect(stalledH.buckets.find(([le]) => le === 1)![1]).toBe(0);

    // The healthy pool: both phases sampled on every probe; connect ≤ first job ≤ whole probe.
    const probes = probeResults(f, 'good').ok!;
    const connect = f.histogram(CONNECT, { namespace: NS, pool: 'good' })!;
    const firstJob = f.histogram(FIRST_JOB, { namespace: NS, pool: 'good' })!;
    expect([connect.count, firstJob.count]).toEqual([probes, probes]);
    expect(connect.buckets.at(-1)![1]).toBe(probes);
    expect(firstJob.buckets.at(-1)![1]).toBe(probes);
    expect(firstJob.sum).toBeGreaterThan(0);
    expect(connect.sum).toBeLessThanOrEqual(firstJob.sum);
    expect(firstJob.sum).toBeLessThanOrEqual(f.histogram('minefleet_pool_probe_duration_seconds', { namespace: NS, pool: 'good' })!.sum + 1e-9);
    // Pools that take the connection and never send work: a connect sample per probe, no first job.
    for (const pool of ['stalled', 'nowork', 'rejecting']) {
      expect(f.histogram(CONNECT, { namespace: NS, pool })?.count, `${pool} connect samples`).toBeGreaterThanOrEqual(2);
      expect(f.histogram(FIRST_JOB, { namespace: NS, pool }), `${pool} first job`).toBeUndefined();
    }
    // Nothing listens on 'refused': neither phase.
    expect(f.histogram(CONNECT, { namespace: NS, pool: 'refused' })).toBeUndefined();
    expect(f.histogram(FIRST_JOB, { namespace: NS, pool: 'refused' })).toBeUndefined();
  });

  it('the probe records in the history store carry connectMs for probes that connected, latencyMs (first job) for ok ones', async () => {
    const client = new MongoClient(ferret.uri);
    try {
      const coll = client.db(HISTORY_DB).collection('probes');
      type ProbeDoc = { pool: string; ok: boolean; connectMs?: number; latencyMs?: number; error?: string };
      const docs = await waitFor(
        async () => {
          const d = (await coll.find({ namespace: NS }).toArray()) as unknown as ProbeDoc[];
          return Object.keys(expected).every((p) => d.some((x) => x.pool === p)) ? d : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, description: 'probe records of every pool in the history store' },
      );
      const of = (pool: string) => docs.filter((d) => d.pool === pool);
      for (const d of of('good').filter((x) => x.ok)) {
        expect(d.connectMs, 'good connectMs').toBeGreaterThanOrEqual(0);
        expect(d.connectMs!).toBeLessThanOrEqual(d.latencyMs!);
      }
      expect(of('good').some((x) => x.ok)).toBe(true);
      for (const pool of ['stalled', 'nowork', 'rejecting'])
        for (const d of of(pool)) {
          expect(d.ok, pool).toBe(false);
          expect(d.connectMs, `${pool} connectMs`).toBeGreaterThanOrEqual(0);
          expect(d.latencyMs, `${pool} latencyMs`).toBeUndefined();
        }
      for (const d of of('refused')) expect([d.ok, d.connectMs, d.latencyMs]).toEqual([false, undefined, undefined]);
    } finally {
      await client.close();
    }
  });

  it('follows a pool that dies and comes back', async () => {
    const good = pools[0]!;
    const before = probeResults(await scrape(), 'good');
    await good.kill();
    const down = await waitFor(
      async () => {
        const s = await scrape();
        return s.value('minefleet_pool_up', { namespace: NS, pool: 'good' }) === 0 ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, description: 'good: pool_up 0 after the kill' },
    );
    expect(circuitOf(down, 'good')).toEqual(['Open']);
    expect(probeResults(down, 'good').ConnectFailed).toBeGreaterThanOrEqual(1);

    await good.revive();
    const up = await waitFor(
      async () => {
        const s = await scrape();
        return s.value('minefleet_pool_up', { namespace: NS, pool: 'good' }) === 1 ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, description: 'good: pool_up 1 after the revival' },
    );
    expect(circuitOf(up, 'good')).toEqual(['Closed']);
    expect(probeResults(up, 'good').ok).toBeGreaterThan(before.ok!);
    const h = up.histogram('minefleet_pool_probe_duration_seconds', { namespace: NS, pool: 'good' })!;
    expect(h.count).toBe(Object.values(probeResults(up, 'good')).reduce((a, b) => a + b, 0));
    // The failed probes of the dead pool got no connect sample, only the connected ones did.
    expectPhaseHistograms(up, 'good');
    expect(up.histogram(CONNECT, { namespace: NS, pool: 'good' })!.count).toBeLessThan(h.count);
  }, 180_000);

  it('no pool password in the operator log, /metrics, status or Events', async () => {
    for (const { what, text } of await capturedOutputs(rest, NS, [op])) expect(text.includes(RIG_POOL_PASSWORD), what).toBe(false);
    // and the probes did log in with it (so the check is not vacuous)
    expect(pools[0]!.current()!.logins.some((l) => l.password === RIG_POOL_PASSWORD)).toBe(true);
  });
});
