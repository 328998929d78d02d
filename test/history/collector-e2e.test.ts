/**
 * End to end on real components: kube-apiserver (Pods and a MinerFleet), real miner processes on
 * 127.0.0.x mining through the test pool on litecoind -regtest, FerretDB (or MONGODB_URI), and the
 * operator's history wiring (setupHistory: store from the URI, pod informer, collector). There is
 * no kubelet here, so the test patches each Pod's status (IP, Ready) as a kubelet would.
 *
 * Scenario: the operator starts, then its miners (history begins with the collector); mining;
 * MongoDB stopped for OUTAGE_SECONDS (default 60 s so CI stays near 2 minutes; the 5
 * minutes: MINEFLEET_OUTAGE_SECONDS=300, measured by hand) while the miners mine; during the outage the
 * operator is restarted (its spill must be replayed exactly once), one miner restarts (counter
 * reset) and one pod is deleted mid-window. Then the store comes back and everything is checked
 * against the pool's own records.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { setupHistory, type History } from '../../operator/src/collector/setup.js';
import { loadConfig } from '../../operator/src/config/config.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { SPILL_FILE } from '../../operator/src/store/index.js';
import {
  installCrds,
  freePort,
  startControlPlane,
  startFerretDB,
  startLitecoind,
  waitFor,
  type ControlPlane,
  type FerretDB,
  type Litecoind,
} from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, startMiner, type MinerProcess } from '../miner/helpers.js';
import { createNamespace, fleet, pool as poolObj, secret } from '../operator/fixtures.js';

const OUTAGE_SECONDS = Number(process.env.MINEFLEET_OUTAGE_SECONDS ?? 60);
const NS = 'history';
const FLEET = 'alpha';
const WINDOW = 5;
const log = pino({ level: process.env.HISTORY_TEST_LOG ?? 'silent' });

let cp: ControlPlane;
let rest: KubeRest;
let fdb: FerretDB | undefined;
let ltc: Litecoind;
let pool: StratumPool;
let mongoUri: string;
const dbName = `mf_e2e_${process.pid}`;
const spillDir = mkdtempSync(path.join(os.tmpdir(), 'minefleet-history-e2e-'));
const miners = new Map<string, MinerProcess>();
const ports = new Map<string, number>();
let op: { mgr: Manager; history: History; running: Promise<unknown> } | undefined;

const IPS: Record<string, string> = { 'alpha-0': '127.0.0.2', 'alpha-1': '127.0.0.3', 'alpha-2': '127.0.0.4' };

async function startOperator(): Promise<void> {
  const config = loadConfig(
    [
      '--leader-elect=false',
      '--history-mongodb-uri',
      mongoUri,
      '--history-db',
      dbName,
      '--history-spill-dir',
      spillDir,
      '--collector-interval',
      '1',
      '--collector-window',
      String(WINDOW),
      '--collector-timeout',
      '3',
      '--identity',
      `op-${Date.now()}`,
    ],
    {},
  );
  const mgr = new Manager({ kubeConfig: cp.kubeConfig, logger: log, probePort: 0, metricsPort: 0, bindHost: '127.0.0.1' });
  const history = await setupHistory(mgr, config, log);
  op = { mgr, history, running: mgr.start() };
}

async function stopOperator(): Promise<void> {
  if (!op) return;
  await op.mgr.stop();
  await op.running;
  await op.history.stop();
  op = undefined;
}

function workerOf(pod: string): string {
  return `tester.${FLEET}.${pod}`;
}

async function startMinerFor(pod: string): Promise<void> {
  const port = ports.get(pod) ?? (await freePort());
  ports.set(pod, port);
  const cfg = baseConfig([poolEntry('pool-a', pool.url)], 'pool-a', { fleet: FLEET, pod, metrics: { host: IPS[pod]!, port } });
  miners.set(pod, await startMiner(cfg));
}

async function createPod(name: string): Promise<string> {
  const created = await rest.create<{ metadata: { uid: string } }>(`/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { 'minefleet.io/fleet': FLEET, 'app.kubernetes.io/name': 'minefleet-miner' } },
    spec: { containers: [{ name: 'miner', image: 'minefleet:test', ports: [{ name: 'metrics', containerPort: ports.get(name)!, protocol: 'TCP' }] }] },
  });
  // What a kubelet would report.
  await rest.mergePatch(`/api/v1/namespaces/${NS}/pods/${name}/status`, {
    status: {
      phase: 'Running',
      podIP: IPS[name],
      podIPs: [{ ip: IPS[name] }],
      startTime: new Date().toISOString(),
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }],
    },
  });
  return created.metadata.uid;
}

interface StoredShare {
  _id: string;
  pod: string;
  podUid: string;
  seq: number;
  worker: string;
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  result: string;
  reason?: string;
}
/** The miner's verdict on a share whose answer never reached it (the pool stopped, or the reply was lost): it counts it as rejected. */
const UNANSWERED = /connection lost|timed out/;
const unanswered = (s: { result: string; reason?: string }) => s.result === 'rejected' && UNANSWERED.test(s.reason ?? '');
const key = (s: { jobId: string; extranonce2: string; ntime: string; nonce: string }) => `${s.jobId}/${s.extranonce2}/${s.ntime}/${s.nonce}`;

beforeAll(async () => {
  [cp, ltc] = await Promise.all([startControlPlane(), startLitecoind()]);
  if (process.env.MONGODB_URI) mongoUri = process.env.MONGODB_URI;
  else {
    fdb = await startFerretDB();
    mongoUri = fdb.uri;
  }
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  // No controller-manager here to create it; the ServiceAccount admission plugin wants it.
  await rest.create(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: NS } });
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  await rest.create(`/apis/minefleet.io/v1alpha1/namespaces/${NS}/miningpools`, poolObj(NS, 'pool-a', 'creds'));
  const f = fleet(NS, FLEET, 'cpu', [{ name: 'pool-a', priority: 1 }], 3) as ReturnType<typeof fleet> & { spec: Record<string, unknown> };
  f.spec.history = { retentionDays: 7, shares: 'all' };
  await rest.create(`/apis/minefleet.io/v1alpha1/namespaces/${NS}/minerfleets`, f);
  pool = await startStratumPool({ litecoind: ltc, difficulty: 0.05 });
}, 300_000);

afterAll(async () => {
  await stopOperator().catch(() => undefined);
  for (const m of miners.values()) await m.stop().catch(() => undefined);
  await pool?.stop().catch(() => undefined);
  await fdb?.stop();
  await ltc?.stop();
  await cp?.stop();
  rmSync(spillDir, { recursive: true, force: true });
});

describe('collector end to end', () => {
  it('stores every window and share exactly once through a MongoDB outage, an operator restart, a miner restart and a pod deletion', async () => {
    // The operator runs before its miners do (it is what creates them): history begins with the
    // collector, so every share a miner counts is in some window. A miner process older than
    // the collector's history is counted from its first scrape (see collector-pure.test.ts).
    await startOperator();
    for (const p of Object.keys(IPS)) await startMinerFor(p);
    for (const p of Object.keys(IPS)) await createPod(p);
    const perWorker = (pod: string, from = 0) => pool.shares.filter((s) => s.worker === workerOf(pod) && s.receivedAt >= from);
    await waitFor(() => Object.keys(IPS).every((p) => perWorker(p).length >= 3), { timeoutMs: 180_000, description: '3 shares per miner at the pool' });

    // Status: the Hashrate column.
    const mf = await waitFor(
      async () => {
        const r = await cp.kubectl(['get', 'mf', FLEET, '-n', NS]);
        const f = await rest.get<{ status?: { hashrate?: number; shares?: { accepted: number } } }>(
          `/apis/minefleet.io/v1alpha1/namespaces/${NS}/minerfleets/${FLEET}`,
        );
        return (f.status?.hashrate ?? 0) > 0 && (f.status?.shares?.accepted ?? 0) > 0 ? r.stdout : undefined;
      },
      { timeoutMs: 60_000, description: 'status.hashrate and status.shares' },
    );
    process.stdout.write(`\nkubectl get mf:\n${mf}\n`);
    expect(mf).toMatch(/HASHRATE/);

    // --- outage ---
    const outageStart = Date.now();
    if (fdb) await fdb.stopServer();
    await new Promise((r) => setTimeout(r, Math.min(10, OUTAGE_SECONDS / 3) * 1000));
    // Operator restart during the outage: its buffered documents go to the spill file.
    const opStoppedAt = Date.now();
    await stopOperator();
    const spillPath = path.join(spillDir, SPILL_FILE);
    expect(existsSync(spillPath) && statSync(spillPath).size > 0, 'the stopped operator left its unwritten documents in the spill file').toBe(true);
    await startOperator();
    await waitFor(() => (op?.history.collector.stats.scrapes ?? 0) >= 1, {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: 'the restarted operator scraping',
    });
    const opResumedAt = Date.now();
    // The new operator has caught up (two cycles over the pods) before the miner restarts.
    await waitFor(() => (op?.history.collector.stats.scrapes ?? 0) >= 6, { timeoutMs: 60_000, description: 'the restarted operator scraping' });
    // Miner restart (counter reset): stop alpha-1, start it again on the same address.
    const m1StoppedAt = Date.now();
    await miners.get('alpha-1')!.stop();
    await startMinerFor('alpha-1');
    const m1RestartedAt = Date.now();
    // Pod deleted mid-window: alpha-2 stops (as a terminating pod does) and its Pod goes away.
    await new Promise((r) => setTimeout(r, 2_500));
    const m2StoppedAt = Date.now();
    await miners.get('alpha-2')!.stop();
    await rest.delete(`/api/v1/namespaces/${NS}/pods/alpha-2`);
    const remaining = OUTAGE_SECONDS * 1000 - (Date.now() - outageStart);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    if (fdb) await fdb.startServer();
    const outageEnd = Date.now();

    // Let the miners mine on, then stop the pool: no more shares, the collector reads the last ones.
    await waitFor(() => perWorker('alpha-0', outageEnd).length >= 2 && perWorker('alpha-1', outageEnd).length >= 2, {
      timeoutMs: 120_000,
      description: 'shares after the outage',
    });
    await pool.stop();
    const poolStoppedAt = Date.now();

    const client = new MongoClient(mongoUri);
    await client.connect();
    try {
      const db = client.db(dbName);
      const stored = () => db.collection<StoredShare>('shares').find({ namespace: NS }).toArray();
      const expectedFor = (pod: string) => perWorker(pod);
      // alpha-0 never restarted: every share the pool judged is stored.
      await waitFor(
        async () => {
          const s = await stored();
          const keys = new Set(s.filter((x) => x.pod === 'alpha-0').map(key));
          return expectedFor('alpha-0').every((p) => keys.has(key(p)));
        },
        { timeoutMs: 180_000, intervalMs: 1_000, description: "all of alpha-0's shares stored" },
      );
      // And the last window has closed and been written.
      await waitFor(
        async () => (await db.collection('samples').countDocuments({ namespace: NS, pod: 'alpha-0', windowStart: { $gte: new Date(poolStoppedAt) } })) > 0,
        {
          timeoutMs: 120_000,
          intervalMs: 1_000,
          description: 'a window after the pool stopped',
        },
      );
      await new Promise((r) => setTimeout(r, (WINDOW + 3) * 1000));
      await stopOperator();

      const shares = await stored();
      const samples = await db
        .collection<{ pod: string; windowStart: Date; shares: { accepted: number; rejected: number; stale: number } }>('samples')
        .find({ namespace: NS })
        .toArray();
      const rollups = await db
        .collection<{ windowStart: Date; shares: { accepted: number; rejected: number; stale: number }; pods: number }>('rollups')
        .find({ namespace: NS })
        .toArray();

      // Shares: exactly once (each submitted share, job/extranonce2/ntime/nonce, stored once), each
      // one a share the pool recorded with the same verdict. (Not pod UID + seq + nonce: a restarted
      // miner numbers from 1 again in the same pod, and small nonces repeat across jobs.)
      const byShare = new Set(shares.map((s) => `${s.pod}/${key(s)}`));
      expect(byShare.size).toBe(shares.length);
      const poolByKey = new Map(pool.shares.map((s) => [key(s), s]));
      for (const s of shares) {
        const p = poolByKey.get(key(s));
        if (!p) {
          // Found for a job that expired before it could be submitted: the miner's own 'stale'. Or
          // sent as the pool stopped, before the pool recorded it: 'rejected' (connection lost).
          const lost = unanswered(s);
          expect(s.result === 'stale' || lost, `stored share ${key(s)} is not in the pool's records: ${s.result} (${s.reason ?? 'no reason'})`).toBe(true);
          continue;
        }
        // The miner calls a pool rejection for an outdated job 'stale'; the pool says 'rejected'.
        // A share the pool judged but whose answer was lost on the way (the pool stopped with it in
        // flight): the miner could only call it rejected ('connection lost').
        expect(
          s.result === p.result || (s.result === 'stale' && p.result === 'rejected') || unanswered(s),
          `${key(s)}: stored ${s.result} (${s.reason ?? 'no reason'}), pool ${p.result}`,
        ).toBe(true);
        expect(s.worker).toBe(p.worker);
      }
      const storedKeys = (pod: string) => new Set(shares.filter((s) => s.pod === pod && poolByKey.has(key(s))).map(key));
      // alpha-0: equal to the pool's records.
      expect([...storedKeys('alpha-0')].sort()).toEqual(expectedFor('alpha-0').map(key).sort());
      // alpha-1 (restarted) and alpha-2 (deleted): only what the process submitted in its last
      // interval before exiting can be unread (the ring goes with the process).
      for (const [pod, stoppedAt] of [
        ['alpha-1', m1StoppedAt],
        ['alpha-2', m2StoppedAt],
      ] as const) {
        const have = storedKeys(pod);
        const missing = expectedFor(pod).filter((s) => !have.has(key(s)));
        for (const s of missing)
          expect(s.receivedAt, `${pod}: share ${key(s)} missing though it was submitted well before the process stopped`).toBeGreaterThan(stoppedAt - 3_000);
      }
      // alpha-1's second process: every one of its shares stored.
      for (const s of perWorker('alpha-1', m1RestartedAt)) expect(storedKeys('alpha-1').has(key(s))).toBe(true);

      // Samples: no negative counts; alpha-0's windows sum to the pool's counts exactly.
      for (const s of samples) for (const v of Object.values(s.shares)) expect(v).toBeGreaterThanOrEqual(0);
      const sum = (pod: string, r: 'accepted' | 'rejected') => samples.filter((s) => s.pod === pod).reduce((a, s) => a + s.shares[r], 0);
      const poolCount = (pod: string, r: 'accepted' | 'rejected') => expectedFor(pod).filter((s) => s.result === r).length;
      // Shares the pool accepted whose answer the miner never got count as rejected on its side.
      const lostAnswers = (pod: string) => shares.filter((s) => s.pod === pod && unanswered(s) && poolByKey.get(key(s))?.result === 'accepted').length;
      expect(sum('alpha-0', 'accepted')).toBe(poolCount('alpha-0', 'accepted') - lostAnswers('alpha-0'));
      const staleSum = samples.filter((s) => s.pod === 'alpha-0').reduce((a, s) => a + s.shares.stale, 0);
      // ... and so do shares sent as the pool stopped that it never recorded.
      const lostUnrecorded = (pod: string) => shares.filter((s) => s.pod === pod && unanswered(s) && !poolByKey.has(key(s))).length;
      expect(sum('alpha-0', 'rejected')).toBeLessThanOrEqual(poolCount('alpha-0', 'rejected') + lostAnswers('alpha-0') + lostUnrecorded('alpha-0'));
      expect(sum('alpha-0', 'rejected') + staleSum).toBeGreaterThanOrEqual(poolCount('alpha-0', 'rejected'));
      // The restarted miner: never doubled, and at least its second process's shares.
      expect(sum('alpha-1', 'accepted')).toBeLessThanOrEqual(poolCount('alpha-1', 'accepted'));
      expect(sum('alpha-1', 'accepted')).toBeGreaterThanOrEqual(
        perWorker('alpha-1', m1RestartedAt).filter((s) => s.result === 'accepted').length - lostAnswers('alpha-1'),
      );
      expect(sum('alpha-2', 'accepted')).toBeLessThanOrEqual(poolCount('alpha-2', 'accepted'));
      // Every window of the outage is there for the steady pod, except those the operator was
      // down for in its restart (no scrape in them: their counts are in the next window).
      const W = WINDOW * 1000;
      const outageWindows = samples.filter((s) => s.pod === 'alpha-0' && s.windowStart.getTime() >= outageStart && s.windowStart.getTime() < outageEnd - W);
      const have = new Set(outageWindows.map((s) => s.windowStart.getTime()));
      const missingWindows: number[] = [];
      for (let ws = Math.ceil(outageStart / W) * W; ws < outageEnd - W; ws += W) if (!have.has(ws)) missingWindows.push(ws);
      for (const ws of missingWindows)
        expect(
          ws + W > opStoppedAt - 2_000 && ws < opResumedAt + 1_000,
          `alpha-0 has no sample for ${new Date(ws).toISOString()}, outside the operator restart (${new Date(opStoppedAt).toISOString()} .. ${new Date(opResumedAt).toISOString()})`,
        ).toBe(true);
      // Rollups agree with the samples, window by window.
      for (const r of rollups) {
        const inWindow = samples.filter((s) => s.windowStart.getTime() === r.windowStart.getTime());
        expect(r.pods).toBe(inWindow.length);
        expect(r.shares.accepted).toBe(inWindow.reduce((a, s) => a + s.shares.accepted, 0));
      }
      // The spill was replayed and removed.
      expect(existsSync(spillPath) ? statSync(spillPath).size : 0).toBe(0);
      const counts = {
        outageSeconds: OUTAGE_SECONDS,
        poolShares: Object.fromEntries(Object.keys(IPS).map((p) => [p, expectedFor(p).length])),
        storedShares: Object.fromEntries(Object.keys(IPS).map((p) => [p, storedKeys(p).size])),
        samples: samples.length,
        rollups: rollups.length,
        outageWindowsAlpha0: outageWindows.length,
        outageWindowsMissingAlpha0: missingWindows.length,
        operatorRestartMs: opResumedAt - opStoppedAt,
        sampleAccepted: Object.fromEntries(Object.keys(IPS).map((p) => [p, sum(p, 'accepted')])),
        poolAccepted: Object.fromEntries(Object.keys(IPS).map((p) => [p, poolCount(p, 'accepted')])),
        answersLost: Object.fromEntries(Object.keys(IPS).map((p) => [p, lostAnswers(p)])),
        lostUnrecorded: Object.fromEntries(Object.keys(IPS).map((p) => [p, lostUnrecorded(p)])),
      };
      process.stdout.write(`\noutage test counts: ${JSON.stringify(counts)}\n`);
    } finally {
      await client.close();
    }
  }, 900_000);
});
