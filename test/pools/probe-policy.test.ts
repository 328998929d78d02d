/**
 * Every MiningPool.spec.probe field changes what the MiningPool controller does, on real
 * components: a real kube-apiserver, the controller in-process as controller.test.ts runs it, and
 * real Stratum test pools. Each case compares pools that differ in ONE probe field:
 *  - intervalSeconds 5 vs 15: the test pools see logins (one per probe) in that ratio;
 *  - timeoutSeconds 1 vs 4 on the same slow pool (a proxy holds its answers ~2 s): Timeout /
 *    NoWork vs Available;
 *  - failureThreshold 1 vs 3: the circuit opens after the first failure vs the third, the latter
 *    staying Available while consecutiveFailures counts up;
 *  - successThreshold 1 vs 2: Open -> Closed after one good probe vs Open -> HalfOpen -> Closed;
 * and the Open circuit's back-off on a real pool: the pool's logins come further and further apart.
 * The pool password appears in no log line, status or Event.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupMiningPoolController } from '../../operator/src/controllers/miningpool/controller.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { MemoryAuditSink } from '../../operator/src/store/audit.js';
import { captureLogger, sleep, startControlPlane, waitFor, type ControlPlane } from '../support/index.js';
import { capturedOutputs, createMiningPool, G, getOrUndefined, prepareNamespace, RIG_POOL_PASSWORD, type ProbePolicyInput } from '../support/fleetRig.js';
import { startStratumPool, type StratumPool, type StratumPoolOptions } from '../support/stratum/index.js';

type Any = any;
const NS = 'pools-probe-policy';

let cp: ControlPlane;
let rest: KubeRest;
let mgr: Manager;
let running: Promise<unknown>;
const audit = new MemoryAuditSink();
const { log, lines: logLines } = captureLogger();
const stratum: StratumPool[] = [];
const proxies: DelayProxy[] = [];

beforeAll(async () => {
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await prepareNamespace(cp, rest, NS);
  mgr = new Manager({ kubeConfig: cp.kubeConfig, logger: log, probePort: 0, metricsPort: 0, bindHost: '127.0.0.1', namespaces: [NS] });
  setupMiningPoolController(mgr, { concurrency: 8, audit }, log);
  running = mgr.start();
}, 240_000);

afterAll(async () => {
  await mgr?.stop();
  await running?.catch(() => undefined);
  for (const p of proxies) await p.close();
  for (const p of stratum) await p.stop();
  await cp?.stop();
});

async function pool(behavior: StratumPoolOptions['behavior'] = {}): Promise<StratumPool> {
  const p = await startStratumPool({ difficulty: 0.001, behavior });
  stratum.push(p);
  return p;
}

interface Snapshot {
  at: number;
  circuit?: string;
  available?: string;
  reason?: string;
  consecutiveFailures?: number;
  consecutiveSuccesses?: number;
  nextProbeTime?: string;
}

async function snapshot(name: string): Promise<Snapshot> {
  const st = (await getOrUndefined(rest, `${G}/namespaces/${NS}/miningpools/${name}`))?.status;
  const c = st?.conditions?.find((x: Any) => x.type === 'Available');
  return {
    at: Date.now(),
    circuit: st?.circuit,
    available: c?.status,
    reason: c?.reason,
    consecutiveFailures: st?.consecutiveFailures,
    consecutiveSuccesses: st?.consecutiveSuccesses,
    nextProbeTime: st?.nextProbeTime,
  };
}

const key = (s: Snapshot) => `${s.circuit}|${s.available}|${s.reason}|${s.consecutiveFailures}|${s.consecutiveSuccesses}|${s.nextProbeTime}`;

const describeSeen = (list: Snapshot[]) =>
  list.map((s) => `${s.circuit}/${s.available}/${s.reason}/f${s.consecutiveFailures}/s${s.consecutiveSuccesses}`).join(' -> ');

/** Polls the pools' status every 100 ms and keeps every distinct state each one showed, in order. */
function track(names: string[]) {
  const seen: Record<string, Snapshot[]> = Object.fromEntries(names.map((n) => [n, []]));
  /** Every poll: all pools' states at (about) the same moment. */
  const ticks: Array<Record<string, Snapshot>> = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const tick: Record<string, Snapshot> = {};
      for (const n of names) {
        const s = await snapshot(n).catch(() => undefined);
        if (!s) continue;
        tick[n] = s;
        const list = seen[n]!;
        if (list.length === 0 || key(list.at(-1)!) !== key(s)) list.push(s);
      }
      ticks.push(tick);
      await sleep(100);
    }
  })();
  return {
    seen,
    ticks,
    /** Until this tracker itself has seen `name` in a state that passes `ok`. */
    until: (name: string, ok: (s: Snapshot) => boolean, description: string, timeoutMs = 60_000) =>
      waitFor(() => seen[name]!.find(ok), { timeoutMs, description }).catch((err: Error) => {
        throw new Error(`${err.message}; seen ${describeSeen(seen[name]!)}`);
      }),
    stop: async () => {
      on = false;
      await loop;
    },
  };
}

const probesOf = (name: string, since: number) => audit.probes.filter((p) => p.pool === name && p.time.getTime() >= since);

async function waitState(name: string, ok: (s: Snapshot) => boolean, description: string, timeoutMs = 60_000): Promise<Snapshot> {
  let last: Snapshot | undefined;
  return waitFor(
    async () => {
      last = await snapshot(name);
      return ok(last) ? last : undefined;
    },
    { timeoutMs, description },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last)}`);
  });
}

const isAvailable = (s: Snapshot) => s.available === 'True' && s.circuit === 'Closed';
const base: ProbePolicyInput = { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1, successThreshold: 1 };

// ---- a slow pool: a proxy that holds the pool's answers for a while after each connect ----------

interface DelayProxy {
  url: string;
  connections(): number;
  close(): Promise<void>;
}

/**
 * TCP proxy in front of a test pool. For the first `delayMs` of every connection it holds what
 * the pool sends: everything ('handshake': subscribe and authorize are answered late), or from the
 * first mining.notify on ('notify': the handshake completes at once, the first job comes late).
 * What the client sends passes straight through.
 */
async function startDelayProxy(upstream: StratumPool, delayMs: number, hold: 'handshake' | 'notify'): Promise<DelayProxy> {
  let connections = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const up = net.connect(upstream.port, '127.0.0.1');
    open.add(client);
    open.add(up);
    let released = false;
    let holding = hold === 'handshake';
    let pending = '';
    const held: string[] = [];
    const timer = setTimeout(() => {
      released = true;
      const out = held.join('') + pending;
      held.length = 0;
      pending = '';
      if (out && !client.destroyed) client.write(out);
    }, delayMs);
    client.on('data', (b: Buffer) => up.write(b));
    up.on('data', (b: Buffer) => {
      if (released) return void client.write(b);
      pending += b.toString('utf8');
      for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
        const line = pending.slice(0, i + 1);
        pending = pending.slice(i + 1);
        if (!holding && /"method":\s*"mining\.notify"/.test(line)) holding = true;
        if (holding) held.push(line);
        else client.write(line);
      }
    });
    const end = () => {
      clearTimeout(timer);
      client.destroy();
      up.destroy();
      open.delete(client);
      open.delete(up);
    };
    for (const s of [client, up]) {
      s.on('close', end);
      s.on('error', end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const p: DelayProxy = {
    url: `stratum+tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => connections,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  proxies.push(p);
  return p;
}

describe('MiningPool spec.probe on real pools', () => {
  it('intervalSeconds: a 5 s pool is probed about three times as often as a 15 s pool', async () => {
    const fast = await pool();
    const slow = await pool();
    await createMiningPool(rest, NS, 'every-5s', fast.url, { ...base, intervalSeconds: 5 });
    await createMiningPool(rest, NS, 'every-15s', slow.url, { ...base, intervalSeconds: 15 });
    await waitState('every-5s', isAvailable, 'every-5s Available');
    await waitState('every-15s', isAvailable, 'every-15s Available');
    const windowMs = 60_000;
    const f0 = fast.logins.length;
    const s0 = slow.logins.length;
    const t0 = Date.now();
    await sleep(windowMs);
    const f = fast.logins.length - f0;
    const s = slow.logins.length - s0;
    const ratio = f / s;
    console.log(`intervalSeconds: ${f} probes at 5 s vs ${s} at 15 s in ${windowMs / 1000} s (ratio ${ratio.toFixed(2)})`);
    // 60 s / 5 s = 12 and 60 s / 15 s = 4, each +-1 for the window's phase and scheduling on a busy machine.
    expect(s).toBeGreaterThanOrEqual(3);
    expect(f).toBeGreaterThanOrEqual(8);
    expect(ratio).toBeGreaterThanOrEqual(2);
    expect(ratio).toBeLessThanOrEqual(4.5);
    // one login per probe: the controller's own probe records agree with what the pools saw
    expect(Math.abs(probesOf('every-5s', t0).length - f)).toBeLessThanOrEqual(1);
    expect(Math.abs(probesOf('every-15s', t0).length - s)).toBeLessThanOrEqual(1);
    expect(probesOf('every-5s', t0).every((p) => p.ok)).toBe(true);
  }, 180_000);

  it('timeoutSeconds: a pool whose answers come ~2 s late fails a 1 s probe and passes a 4 s one', async () => {
    const upstream = await pool();
    const slowHandshake = await startDelayProxy(upstream, 2000, 'handshake');
    const slowFirstJob = await startDelayProxy(upstream, 2000, 'notify');
    // same endpoint, only timeoutSeconds differs
    await createMiningPool(rest, NS, 'slow-hs-1s', slowHandshake.url, { ...base, timeoutSeconds: 1 });
    await createMiningPool(rest, NS, 'slow-hs-4s', slowHandshake.url, { ...base, timeoutSeconds: 4 });
    await createMiningPool(rest, NS, 'slow-job-1s', slowFirstJob.url, { ...base, timeoutSeconds: 1 });
    await createMiningPool(rest, NS, 'slow-job-4s', slowFirstJob.url, { ...base, timeoutSeconds: 4 });
    // Handshake answered late: the Stratum handshake is not done within 1 s -> Timeout.
    const hs1 = await waitState('slow-hs-1s', (s) => s.reason !== undefined, 'slow-hs-1s probed');
    expect([hs1.available, hs1.reason, hs1.circuit]).toEqual(['False', 'Timeout', 'Open']);
    // Handshake at once, first mining.notify late: authorized but no job within 1 s -> NoWork
    // (probe.ts: "Timeout" is the handshake's deadline, "NoWork" the first job's).
    const job1 = await waitState('slow-job-1s', (s) => s.reason !== undefined, 'slow-job-1s probed');
    expect([job1.available, job1.reason, job1.circuit]).toEqual(['False', 'NoWork', 'Open']);
    for (const n of ['slow-hs-4s', 'slow-job-4s']) {
      const s = await waitState(n, (x) => x.reason !== undefined, `${n} probed`);
      expect([s.available, s.reason, s.circuit], n).toEqual(['True', 'ProbeSucceeded', 'Closed']);
    }
    // The 4 s probes did wait for the late job: their time to first job includes the hold.
    for (const n of ['slow-hs-4s', 'slow-job-4s']) {
      const ok = probesOf(n, 0).filter((p) => p.ok);
      expect(ok.length, n).toBeGreaterThanOrEqual(1);
      expect(ok[0]!.latencyMs!, n).toBeGreaterThanOrEqual(1500);
    }
    // and they stay so on later probes (not a lucky first one)
    await waitFor(() => probesOf('slow-hs-4s', 0).length >= 2 && probesOf('slow-hs-1s', 0).length >= 2, {
      timeoutMs: 60_000,
      description: 'a second probe of each',
    });
    expect(probesOf('slow-hs-4s', 0).every((p) => p.ok)).toBe(true);
    expect(probesOf('slow-hs-1s', 0).some((p) => p.ok)).toBe(false);
    expect(probesOf('slow-job-1s', 0).some((p) => p.ok)).toBe(false);
    expect(slowHandshake.connections()).toBeGreaterThanOrEqual(4);
  }, 180_000);

  it('failureThreshold: 1 opens on the first failure; 3 stays Available while failures count up and opens at the third', async () => {
    const p1 = await pool();
    const p3 = await pool();
    await createMiningPool(rest, NS, 'fail-1', p1.url, { ...base, failureThreshold: 1 });
    await createMiningPool(rest, NS, 'fail-3', p3.url, { ...base, failureThreshold: 3 });
    await waitState('fail-1', isAvailable, 'fail-1 Available');
    await waitState('fail-3', isAvailable, 'fail-3 Available');
    const tr = track(['fail-1', 'fail-3']);
    const t = Date.now();
    p1.setBehavior({ rejectAuthorize: true });
    p3.setBehavior({ rejectAuthorize: true });
    await tr.until('fail-3', (s) => s.circuit === 'Open', 'fail-3 Open', 90_000);
    await tr.stop();
    const s1 = tr.seen['fail-1']!.filter((s) => s.at >= t);
    const s3 = tr.seen['fail-3']!.filter((s) => s.at >= t);
    const context = `fail-1: ${describeSeen(s1)}; fail-3: ${describeSeen(s3)}`;

    // threshold 1: the first failed probe opened the circuit
    const firstFail1 = s1.find((s) => (s.consecutiveFailures ?? 0) >= 1);
    expect(firstFail1, context).toMatchObject({ consecutiveFailures: 1, circuit: 'Open', available: 'False', reason: 'AuthorizeRejected' });
    // threshold 3: Closed and Available through failures 1 and 2, Open at 3
    const states3 = s3.filter((s) => (s.consecutiveFailures ?? 0) >= 1).map((s) => [s.consecutiveFailures, s.circuit, s.available, s.reason]);
    expect(states3, context).toEqual([
      [1, 'Closed', 'True', 'ProbeFailing'],
      [2, 'Closed', 'True', 'ProbeFailing'],
      [3, 'Open', 'False', 'AuthorizeRejected'],
    ]);
    // At the same moment: both pools have failed, one is out, the other still in.
    const both = tr.ticks.find((k) => (k['fail-1']?.consecutiveFailures ?? 0) >= 1 && (k['fail-3']?.consecutiveFailures ?? 0) >= 1);
    expect(both?.['fail-1']?.available, context).toBe('False');
    expect(both?.['fail-3']?.available, context).toBe('True');
    // the controller's probe records: the same story, probe by probe
    expect(
      probesOf('fail-3', t)
        .map((p) => `${p.ok}:${p.circuit}`)
        .slice(0, 3),
    ).toEqual(['false:Closed', 'false:Closed', 'false:Open']);
    expect(probesOf('fail-1', t).map((p) => `${p.ok}:${p.circuit}`)[0]).toBe('false:Open');
  }, 180_000);

  it('successThreshold: 1 closes on the first good probe; 2 goes Open -> HalfOpen -> Closed', async () => {
    const p1 = await pool({ rejectAuthorize: true });
    const p2 = await pool({ rejectAuthorize: true });
    // successThreshold may not exceed failureThreshold (CEL rule): both use failureThreshold 2.
    await createMiningPool(rest, NS, 'succ-1', p1.url, { ...base, failureThreshold: 2, successThreshold: 1 });
    await createMiningPool(rest, NS, 'succ-2', p2.url, { ...base, failureThreshold: 2, successThreshold: 2 });
    await waitState('succ-1', (s) => s.circuit === 'Open', 'succ-1 Open', 60_000);
    await waitState('succ-2', (s) => s.circuit === 'Open', 'succ-2 Open', 60_000);
    const tr = track(['succ-1', 'succ-2']);
    const t = Date.now();
    p1.setBehavior({ rejectAuthorize: false });
    p2.setBehavior({ rejectAuthorize: false });
    await tr.until('succ-1', (s) => s.at >= t && isAvailable(s), 'succ-1 Closed again', 90_000);
    await tr.until('succ-2', (s) => s.at >= t && isAvailable(s), 'succ-2 Closed again', 90_000);
    await tr.stop();
    const seq = (n: string) => tr.seen[n]!.filter((s) => s.at >= t).map((s) => `${s.circuit}/${s.available}/${s.reason}/s${s.consecutiveSuccesses}`);
    const context = `succ-1: ${describeSeen(tr.seen['succ-1']!)}; succ-2: ${describeSeen(tr.seen['succ-2']!)}`;
    // The tracker's first sample (still Open, maybe with a later failed trial) is dropped: what follows the first success.
    const afterFirstOk = (n: string) => seq(n).slice(seq(n).findIndex((x) => !x.startsWith('Open/')));
    expect(afterFirstOk('succ-1'), context).toEqual(['Closed/True/ProbeSucceeded/s1']);
    expect(afterFirstOk('succ-2'), context).toEqual(['HalfOpen/False/Recovering/s1', 'Closed/True/ProbeSucceeded/s2']);
    // probe by probe: the first good probe closes succ-1; succ-2 needs a second one
    const good = (n: string) =>
      probesOf(n, t)
        .filter((p) => p.ok)
        .map((p) => p.circuit);
    expect(good('succ-1')[0]).toBe('Closed');
    expect(good('succ-2').slice(0, 2)).toEqual(['HalfOpen', 'Closed']);
  }, 180_000);

  it('Open circuit backs off: successive probes of a failing pool come further and further apart', async () => {
    const failing = await pool({ rejectAuthorize: true });
    // Login arrival times at the pool (each probe authorizes once), sampled every 25 ms.
    const arrivals: number[] = [];
    const nextProbeTimes: string[] = [];
    let on = true;
    const sampler = (async () => {
      while (on) {
        while (arrivals.length < failing.logins.length) arrivals.push(Date.now());
        const s = await snapshot('backoff').catch(() => undefined);
        if (s?.nextProbeTime && nextProbeTimes.at(-1) !== s.nextProbeTime) nextProbeTimes.push(s.nextProbeTime);
        await sleep(25);
      }
    })();
    await createMiningPool(rest, NS, 'backoff', failing.url, { ...base, intervalSeconds: 5, failureThreshold: 1 });
    // first probe opens the circuit; then trials after ~[2.5,5], [5,10], [10,20] s (interval x 2^(n-1), equal jitter)
    await waitFor(() => arrivals.length >= 4, { timeoutMs: 120_000, intervalMs: 200, description: 'four probes of the failing pool' });
    await sleep(500);
    on = false;
    await sampler;
    const gaps = arrivals.slice(1, 4).map((a, i) => a - arrivals[i]!);
    console.log(
      `back-off: gaps between probes of an Open pool ${gaps.map((g) => `${(g / 1000).toFixed(1)} s`).join(', ')}; nextProbeTime ${nextProbeTimes.join(', ')}`,
    );
    const [g1, g2, g3] = gaps as [number, number, number];
    // Each wait is at least half its back-off base (jitter), bases doubling from the interval: 5 s, 10 s, 20 s.
    expect(g1).toBeGreaterThanOrEqual(2500 - 200);
    expect(g2).toBeGreaterThanOrEqual(5000 - 200);
    expect(g3).toBeGreaterThanOrEqual(10_000 - 200);
    // growing: never shorter than the one before (beyond scheduling noise), and the third clearly longer than the first
    // (its range [10, 20] s lies above the first's [2.5, 5] s)
    expect(g2).toBeGreaterThanOrEqual(g1 - 1000);
    expect(g3).toBeGreaterThanOrEqual(g2 - 1000);
    expect(g3).toBeGreaterThan(1.25 * g1);
    // all while Open, and the status says when the next one is due (later every time)
    const probes = probesOf('backoff', 0);
    expect(probes.slice(0, 4).map((p) => `${p.ok}:${p.circuit}`)).toEqual(Array(4).fill('false:Open'));
    expect(nextProbeTimes.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < nextProbeTimes.length; i++) expect(Date.parse(nextProbeTimes[i]!)).toBeGreaterThan(Date.parse(nextProbeTimes[i - 1]!));
    // a probe does not come before the nextProbeTime status announced (1 s precision)
    for (let i = 0; i < Math.min(nextProbeTimes.length, arrivals.length - 1); i++)
      expect(arrivals[i + 1]!).toBeGreaterThanOrEqual(Date.parse(nextProbeTimes[i]!) - 1000);
  }, 180_000);

  it('no pool password in the controller log, status or Events', async () => {
    expect(logLines.join('\n')).not.toContain(RIG_POOL_PASSWORD);
    // A list can meet a 429 "storage is (re)initializing" from a CRD's watch cache nobody watched yet: retry it.
    const outputs = await waitFor(() => capturedOutputs(rest, NS, []), { timeoutMs: 30_000, description: 'status, Events and objects of the namespace' });
    for (const { what, text } of outputs) expect(text.includes(RIG_POOL_PASSWORD), what).toBe(false);
    // the probes did log in with it
    expect(stratum.some((p) => p.logins.some((l) => l.password === RIG_POOL_PASSWORD))).toBe(true);
  });
});
