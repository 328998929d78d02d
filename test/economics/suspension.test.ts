/**
 * Economic suspension end to end on real components: kube-apiserver + etcd, a local HTTP price
 * feed whose value the test changes live, litecoind -regtest as the difficulty and block-reward
 * feed, two operator managers with Lease leader election (the first one is stopped without
 * releasing its lease while the fleet is suspended).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import type { FleetMeasurement, FleetMeasurements } from '../../operator/src/economics/assess.js';
import { coinsPerDay, costPerDay } from '../../operator/src/economics/revenue.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { isNotFound, KubeRest } from '../../operator/src/runtime/rest.js';
import { MemoryAuditSink } from '../../operator/src/store/audit.js';
import { installCrds, startControlPlane, startLitecoind, type ControlPlane, type Litecoind } from '../support/index.js';
import { createNamespace, secret } from '../operator/fixtures.js';
import { eventually, testLogger } from '../operator/helpers.js';

type Any = any;

const NS = 'econ';
const G = '/apis/minefleet.io/v1alpha1';
const WATTS = 100;
const KWH = 0.1;
const REPLICAS = 2;
const HASHRATE = 2; // H/s for the whole fleet: regtest difficulty is ~4.7e-10

let cp: ControlPlane;
let rest: KubeRest;
let ltc: Litecoind;
let server: http.Server;
let base: string;
let price = 1;
const hits = new Map<string, number>();
/** The test plays the collector: what it "measured" per fleet. */
const measured = new Map<string, FleetMeasurement>();
const measurements: FleetMeasurements = { measure: (f) => measured.get(`${f.metadata.namespace}/${f.metadata.name}`) };

const get = async (p: string): Promise<Any | undefined> => {
  try {
    return await rest.get<Any>(p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const mf = (name: string) => get(`${G}/namespaces/${NS}/minerfleets/${name}`);
const dep = (name: string) => get(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
const cond = (f: Any, type: string) => f?.status?.conditions?.find((c: Any) => c.type === type);

function startManager(identity: string, audit: MemoryAuditSink) {
  const mgr = new Manager({
    kubeConfig: cp.kubeConfig,
    logger: testLogger(),
    probePort: 0,
    metricsPort: 0,
    bindHost: '127.0.0.1',
    leaderElection: {
      leaseName: 'econ-test',
      leaseNamespace: NS,
      identity,
      leaseDurationMs: 6000,
      renewDeadlineMs: 4000,
      retryPeriodMs: 1000,
      releaseOnCancel: false,
    },
  });
  const ctl = setupMinerFleetController(
    mgr,
    { minerImage: 'minefleet:test', concurrency: 2, backoffMaxMs: 2000, economics: { measurements, audit, feeds: { http: { timeoutMs: 1000 }, retries: 0 } } },
    testLogger(),
  );
  const running = mgr.start();
  return { mgr, ctl, running };
}

function economics(priceFeed: object, onStaleFeed: 'Hold' | 'Suspend' = 'Hold') {
  return {
    enabled: true,
    power: { wattsPerMiner: WATTS },
    electricityPrice: { perKWh: KWH, currency: 'USD' },
    feeds: {
      LTC: {
        price: priceFeed,
        difficulty: { litecoind: { url: ltc.rpcUrl, credentialsSecretRef: { name: 'ltc-rpc' }, refreshSeconds: 5 } },
        blockReward: { litecoind: { url: ltc.rpcUrl, credentialsSecretRef: { name: 'ltc-rpc' }, refreshSeconds: 5 } },
      },
    },
    minMarginPercent: 0,
    resumeMarginPercent: 20,
    evaluationWindowSeconds: 60,
    minOffSeconds: 0,
    feedMaxAgeSeconds: 60,
    onStaleFeed,
  };
}

const fleet = (name: string, econ: object) => ({
  apiVersion: 'minefleet.io/v1alpha1',
  kind: 'MinerFleet',
  metadata: { name, namespace: NS },
  spec: { replicas: REPLICAS, miner: { threads: 1 }, pools: [{ name: 'ltc-pool', priority: 0 }], economics: econ },
});

beforeAll(async () => {
  [cp, ltc] = await Promise.all([startControlPlane(), startLitecoind()]);
  await ltc.mine(1);
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'ltc-rpc', namespace: NS },
    stringData: { username: ltc.rpcUser, password: ltc.rpcPassword },
  });
  await rest.create(`${G}/namespaces/${NS}/miningpools`, {
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MiningPool',
    metadata: { name: 'ltc-pool', namespace: NS },
    spec: { url: 'stratum+tcp://127.0.0.1:3333', coins: ['LTC'], feePercent: 2, credentialsSecretRef: { name: 'creds' } },
  });
  server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    hits.set(p, (hits.get(p) ?? 0) + 1);
    if (p === '/price') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ litecoin: { usd: price } }));
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>maintenance</html>');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await ltc?.stop();
  await cp?.stop();
});

describe('economic suspension', () => {
  it('suspends when the live price makes mining unprofitable, keeps it suspended across a leader change, resumes when it pays; bad feeds follow onStaleFeed', async () => {
    // Revenue at the regtest difficulty and reward litecoind reports, to pick prices with known margins.
    const info = await ltc.rpc<{ difficulty: number }>('getmininginfo');
    const tpl = await ltc.rpc<{ coinbasevalue: number }>('getblocktemplate', [{ rules: ['segwit', 'mweb'] }]);
    const coins = coinsPerDay(HASHRATE, info.difficulty, tpl.coinbasevalue / 1e8) * 0.98;
    const cost = costPerDay(WATTS * REPLICAS, KWH);
    const priceForMargin = (m: number) => (cost * (1 + m / 100)) / coins;
    price = priceForMargin(100);

    const audit1 = new MemoryAuditSink();
    const first = startManager('op-1', audit1);
    measured.set(`${NS}/farm`, { hashrate: HASHRATE, miners: REPLICAS });
    await rest.create(
      `${G}/namespaces/${NS}/minerfleets`,
      fleet('farm', economics({ http: { url: `${base}/price?key=APIKEY42`, fieldPath: 'litecoin.usd', refreshSeconds: 10 } })),
    );
    // Two fleets behind a feed that answers HTML: Hold keeps mining, Suspend stops after the window.
    const badFeed = { http: { url: `${base}/broken`, fieldPath: 'litecoin.usd', refreshSeconds: 10 } };
    for (const [n, policy] of [
      ['stale-hold', 'Hold'],
      ['stale-suspend', 'Suspend'],
    ] as const) {
      measured.set(`${NS}/${n}`, { hashrate: HASHRATE, miners: REPLICAS });
      await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(n, economics(badFeed, policy)));
    }
    const badStarted = Date.now();

    const profitable = await eventually(
      async () => {
        const f = await mf('farm');
        return cond(f, 'Profitable')?.status === 'True' ? f : undefined;
      },
      'farm profitable',
      60_000,
      250,
    );
    expect(profitable.status.profitability.marginPercent).toBeCloseTo(100, 1);
    expect(profitable.status.profitability).toMatchObject({ currency: 'USD', hashratePerMiner: HASHRATE / REPLICAS, wattsPerMiner: WATTS });
    expect(profitable.status.profitability.costPerDay).toBeCloseTo(cost, 6);
    expect(profitable.status.suspended).toBe(false);
    expect((await eventually(() => dep('farm'), 'farm deployment')).spec.replicas).toBe(REPLICAS);

    const hold = await eventually(
      async () => {
        const f = await mf('stale-hold');
        return f?.status?.profitability?.staleFeeds ? f : undefined;
      },
      'stale-hold names its stale feed',
      60_000,
      250,
    );
    expect(hold.status.profitability.staleFeeds).toEqual(['LTC.price']);
    expect(cond(hold, 'Profitable')).toMatchObject({ status: 'Unknown', reason: 'StaleFeed' });
    expect(cond(hold, 'Profitable').message).toMatch(/LTC\.price: http:\/\/127\.0\.0\.1:\d+\/broken: response is not JSON/);

    // The price drops below break-even: suspended only after the 60 s window.
    price = priceForMargin(-50);
    const dropped = Date.now();
    const suspended = await eventually(
      async () => {
        const f = await mf('farm');
        return f?.status?.suspended === true ? f : undefined;
      },
      'farm suspended',
      180_000,
      500,
    );
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(55_000);
    expect(suspended.spec.replicas).toBe(REPLICAS);
    expect(cond(suspended, 'Suspended')).toMatchObject({ status: 'True', reason: 'MarginBelowThreshold' });
    expect(cond(suspended, 'Profitable')).toMatchObject({ status: 'False', reason: 'MarginBelowThreshold' });
    expect(suspended.status.profitability.marginPercent).toBeCloseTo(-50, 1);
    await eventually(async () => (await dep('farm'))?.spec.replicas === 0, 'farm deployment scaled to 0', 30_000, 250);
    const got = await cp.kubectl(['get', 'mf', '-n', NS]);
    expect(got.code, got.stderr).toBe(0);
    process.stdout.write(`\n$ kubectl get mf -n ${NS}\n${got.stdout}\n`);
    expect(got.stdout).toMatch(/MARGIN\s+SUSPENDED/);
    expect(got.stdout).toMatch(/farm\s+2\s+.*-50\S*\s+true/);

    const ev = await rest.get<Any>(`/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=farm`);
    expect(ev.items.map((e: Any) => e.reason)).toContain('Suspended');
    expect(audit1.events.filter((e) => e.fleet === 'farm')).toEqual([
      expect.objectContaining({ type: 'suspend', namespace: NS, fleet: 'farm', reason: 'MarginBelowThreshold', severity: 'warning' }),
    ]);
    const text = await first.mgr.metrics.registry.metrics();
    expect(text).toMatch(/minefleet_fleet_suspended\{namespace="econ",fleet="farm"\} 1/);
    expect(text).toMatch(/minefleet_fleet_margin_percent\{namespace="econ",fleet="farm"\} -50/);
    expect(text).toMatch(/minefleet_fleet_cost_per_day\{namespace="econ",fleet="farm"\} 0\.48/);
    expect(text).toMatch(/minefleet_fleet_revenue_per_day\{namespace="econ",fleet="farm"\} 0\.24/);
    expect(text).toMatch(/minefleet_economics_decisions_total\{decision="suspend"\} [1-9]/);
    expect(text).toMatch(/minefleet_economics_feed_up\{source="http:\/\/127\.0\.0\.1:\d+\/broken"\} 0/);
    expect(text).not.toContain('APIKEY42');
    expect(text).not.toContain(ltc.rpcPassword);

    // The bad feeds: both named, Hold still mining, Suspend suspended once the window passed.
    const stopped = await eventually(
      async () => {
        const f = await mf('stale-suspend');
        return f?.status?.suspended === true ? f : undefined;
      },
      'stale-suspend suspended',
      120_000,
      500,
    );
    expect(cond(stopped, 'Suspended')).toMatchObject({ status: 'True', reason: 'StaleFeed' });
    expect(cond(stopped, 'Suspended').message).toMatch(/stale or malformed feed\(s\): LTC\.price for \d+s \(onStaleFeed Suspend\): suspending/);
    expect(audit1.events.filter((e) => e.fleet === 'stale-suspend')).toEqual([expect.objectContaining({ type: 'suspend', reason: 'StaleFeed' })]);
    expect(stopped.status.profitability.staleFeeds).toEqual(['LTC.price']);
    const held = await mf('stale-hold');
    expect(Date.now() - badStarted).toBeGreaterThan(60_000);
    expect(held.status.suspended).toBe(false);
    expect((await dep('stale-hold')).spec.replicas).toBe(REPLICAS);
    // one fetch per URL per interval for both fleets (10 s), not one per fleet or per reconcile
    expect(hits.get('/broken')!).toBeLessThanOrEqual(Math.ceil((Date.now() - badStarted) / 10_000) + 1);

    // The leader dies (stopped without releasing its Lease); the new one starts with empty memory.
    await first.mgr.stop();
    await first.running.catch(() => undefined);
    measured.delete(`${NS}/farm`); // no miners run: the collector reports nothing
    const audit2 = new MemoryAuditSink();
    const second = startManager('op-2', audit2);
    const afterTakeover = await eventually(
      async () => {
        const text2 = await second.mgr.metrics.registry.metrics();
        if (!/minefleet_fleet_suspended\{namespace="econ",fleet="farm"\} 1/.test(text2)) return undefined;
        const f = await mf('farm');
        return f?.status?.profitability?.marginPercent !== undefined ? f : undefined;
      },
      'new leader evaluated farm',
      60_000,
      500,
    );
    expect(afterTakeover.status.suspended).toBe(true);
    expect((await dep('farm')).spec.replicas).toBe(0);
    expect(audit2.events.filter((e) => e.fleet === 'farm')).toEqual([]);
    // revenue while suspended is estimated from the last measured hashrate per miner x replicas
    expect(afterTakeover.status.profitability.marginPercent).toBeCloseTo(-50, 1);

    // Mining pays again: resumed after the window, replicas restored.
    price = priceForMargin(100);
    const raised = Date.now();
    const resumed = await eventually(
      async () => {
        const f = await mf('farm');
        return f?.status?.suspended === false ? f : undefined;
      },
      'farm resumed',
      180_000,
      500,
    );
    expect(Date.now() - raised).toBeGreaterThanOrEqual(55_000);
    expect(cond(resumed, 'Suspended')).toMatchObject({ status: 'False', reason: 'MarginRecovered' });
    expect(cond(resumed, 'Profitable')).toMatchObject({ status: 'True' });
    await eventually(async () => (await dep('farm'))?.spec.replicas === REPLICAS, 'farm deployment back to 2', 30_000, 250);
    expect(audit2.events.filter((e) => e.fleet === 'farm')).toEqual([expect.objectContaining({ type: 'resume', fleet: 'farm', reason: 'MarginRecovered' })]);
    const ev2 = await rest.get<Any>(`/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=farm`);
    expect(ev2.items.map((e: Any) => e.reason)).toContain('Resumed');

    const statusWrites = second.ctl.reconciler.stats.statusWrites;
    await second.mgr.stop();
    await second.running.catch(() => undefined);
    // no write loop: a few writes per decision, not one per reconcile
    expect(statusWrites).toBeLessThan(60);
  }, 600_000);
});
