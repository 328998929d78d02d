/**
 * The operator's /metrics for real probed pools (the built operator as a process, real Stratum
 * test pools): minefleet_pool_up, the minefleet_pool_probe_duration_seconds histogram,
 * minefleet_pool_probes_total{result} and minefleet_pool_circuit_state agree with each other and
 * with the pools' status, and follow a pool that dies and comes back. No pool password in them.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { freePort, makeTempDir, startControlPlane, waitFor, type ControlPlane } from '../support/index.js';
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

let cp: ControlPlane;
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
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await prepareNamespace(cp, rest, NS);
  const good = await startRestartablePool('good');
  const stalled = await startRestartablePool('stalled');
  stalled.stall();
  const rejecting = await startRestartablePool('rejecting', { behavior: { rejectAuthorize: true } });
  pools.push(good, stalled, rejecting);
  await createMiningPool(rest, NS, 'good', good.url, PROBE);
  await createMiningPool(rest, NS, 'stalled', stalled.url, PROBE);
  await createMiningPool(rest, NS, 'rejecting', rejecting.url, PROBE);
  await createMiningPool(rest, NS, 'refused', `stratum+tcp://127.0.0.1:${await freePort()}`, PROBE);
  op = await startOperatorProcess(cp, { dir, namespace: NS });
}, 240_000);

afterAll(async () => {
  await op?.proc.stop(15_000);
  for (const p of pools) await p.stop();
  await cp?.stop();
});

describe('pool metrics on the operator /metrics', () => {
  const expected = {
    good: { up: 1, circuit: 'Closed', result: 'ok' },
    stalled: { up: 0, circuit: 'Open', result: 'Timeout' },
    rejecting: { up: 0, circuit: 'Open', result: 'AuthorizeRejected' },
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
      // one-hot circuit state, the same as status.circuit
      expect(circuitOf(f, pool), `${pool} circuit`).toEqual([want.circuit]);
      const mp = await rest.get<Any>(`${G}/namespaces/${NS}/miningpools/${pool}`);
      expect(mp.status.circuit).toBe(want.circuit);
      expect(mp.status.conditions.find((c: Any) => c.type === 'Available').reason).toBe(want.result === 'ok' ? 'ProbeSucceeded' : want.result);
    }
    // A stalled pool's probe ends at its timeout (2 s): none of them fits in the 1 s bucket.
    const stalledH = f.histogram('minefleet_pool_probe_duration_seconds', { namespace: NS, pool: 'stalled' })!;
    expect(stalledH.buckets.find(([le]) => le === 1)![1]).toBe(0);
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
  }, 180_000);

  it('no pool password in the operator log, /metrics, status or Events', async () => {
    for (const { what, text } of await capturedOutputs(rest, NS, [op])) expect(text.includes(RIG_POOL_PASSWORD), what).toBe(false);
    // and the probes did log in with it (so the check is not vacuous)
    expect(pools[0]!.current()!.logins.some((l) => l.password === RIG_POOL_PASSWORD)).toBe(true);
  });
});
