/**
 * Secrets nowhere, on the real node: the chart's operator with its history store URI (with a
 * password) from a Secret, a cpu fleet on two litecoind-fed pools whose login is in a Secret, and
 * economics reading difficulty and block reward from litecoind over RPC with the RPC login from a
 * Secret. The run goes through a failover (the first pool dies) and an economic suspension and
 * resumption (the price feed drops to 0, then recovers). Then every log line (operator and every
 * miner pod, including pods the suspension removed, captured before they went), every Event, the
 * status and spec of every object the operator touches, every metric the operator and the miners
 * export and every document in the history store are searched for the three passwords: none may
 * appear. The pools prove the miners really used the pool password.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFerretDB, startLitecoind, waitFor, type FerretDB, type Litecoind } from '../support/index.js';
import { POD_SUBNET } from '../support/nodeNetwork.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { e2eCluster, installOperator, ok } from './cluster.js';

type Any = any;
const NS = 'e2e-secrets';
const OPERATOR_NS = 'e2e-secrets-operator';
const FLEET = 'farm';
const POOL_PASSWORD = `pool-pw-${randomBytes(6).toString('hex')}`;
const MONGO_PASSWORD = `mongo-pw-${randomBytes(6).toString('hex')}`;

describe('secrets nowhere: a run with failover and an economic suspension on the real node', () => {
  const c = e2eCluster();
  let operator: Awaited<ReturnType<typeof installOperator>> | undefined;
  const figures: Record<string, number> = {};
  const captured: Array<{ what: string; text: string }> = [];
  let ltc: Litecoind;
  let fdb: FerretDB;
  let a: StratumPool;
  let b: StratumPool;
  let feed: http.Server;
  let price = 100;

  const kjson = async (args: string[]): Promise<Any> => JSON.parse(await ok(c.kubectl([...args, '-o', 'json'])));
  const fleet = (): Promise<Any> => kjson(['-n', NS, 'get', 'mf', FLEET]);
  const minerPods = async (): Promise<Any[]> => (await kjson(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`])).items;
  const readyMiners = async () =>
    (await minerPods()).filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((x: Any) => x.type === 'Ready' && x.status === 'True'));
  const portOf = (pod: Any, name: string): number | undefined =>
    pod.spec.containers.flatMap((ct: Any) => ct.ports ?? []).find((p: Any) => p.name === name)?.containerPort;

  /** Logs and /metrics of every miner pod that exists now (the suspension removes them). */
  const captureMiners = async (when: string) => {
    for (const p of await minerPods()) {
      const name = p.metadata.name as string;
      for (const prev of [false, true]) {
        const r = await c.kubectl(['-n', NS, 'logs', name, '--all-containers', ...(prev ? ['--previous'] : [])]);
        if (r.code === 0) captured.push({ what: `${when}: pod ${name} log${prev ? ' (previous)' : ''}`, text: r.stdout });
      }
      const port = portOf(p, 'metrics');
      if (p.status.podIP && port) {
        const res = await fetch(`http://${p.status.podIP}:${port}/metrics`).catch(() => undefined);
        if (res?.ok) captured.push({ what: `${when}: pod ${name} /metrics`, text: await res.text() });
      }
    }
  };

  beforeAll(async () => {
    [ltc, fdb] = await Promise.all([startLitecoind({ rpcHost: { address: c.nodeIp, allowIp: POD_SUBNET } }), startFerretDB({ host: c.nodeIp })]);
    [a, b] = await Promise.all([
      startStratumPool({ litecoind: ltc, difficulty: 0.001, host: c.nodeIp }),
      startStratumPool({ litecoind: ltc, difficulty: 0.001, host: c.nodeIp }),
    ]);
    feed = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ litecoin: { usd: price } }));
    });
    await new Promise<void>((r) => feed.listen(0, c.nodeIp, r));
    const feedUrl = `http://${c.nodeIp}:${(feed.address() as AddressInfo).port}/price`;
    const mongoUri = fdb.uri.replace('mongodb://', `mongodb://reporter:${MONGO_PASSWORD}@`) + 'minefleet?authMechanism=PLAIN';

    // The chart's Roles for watchNamespaces go into those namespaces: they exist first.
    await ok(c.kubectl(['create', 'namespace', NS]));
    await ok(c.kubectl(['create', 'namespace', OPERATOR_NS]));
    await ok(c.kubectl(['-n', OPERATOR_NS, 'create', 'secret', 'generic', 'history-mongodb', `--from-literal=uri=${mongoUri}`]));
    operator = await installOperator(c, {
      release: 'secrets',
      namespace: OPERATOR_NS,
      createNamespace: false,
      values: {
        watchNamespaces: [NS],
        history: { mongodb: { uriSecretRef: { name: 'history-mongodb', key: 'uri' } }, collector: { intervalSeconds: 5, windowSeconds: 10 } },
      },
    });

    const probe = { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1, successThreshold: 1 };
    const litecoindFeed = { litecoind: { url: `http://${c.nodeIp}:${ltc.rpcPort}/`, credentialsSecretRef: { name: 'ltc-rpc' }, refreshSeconds: 5 } };
    const docs = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pool-login' }, type: 'Opaque', stringData: { username: 'farm-wallet', password: POOL_PASSWORD } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ltc-rpc' }, type: 'Opaque', stringData: { username: ltc.rpcUser, password: ltc.rpcPassword } },
      ...[
        ['pool-a', a],
        ['pool-b', b],
      ].map(([name, p]) => ({
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MiningPool',
        metadata: { name },
        spec: { url: (p as StratumPool).url, coins: ['LTC'], credentialsSecretRef: { name: 'pool-login' }, probe },
      })),
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: FLEET },
        spec: {
          replicas: 2,
          device: { kind: 'cpu' },
          miner: { backend: 'cpu', threads: 1, resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } } },
          pools: [
            { name: 'pool-a', priority: 0 },
            { name: 'pool-b', priority: 1 },
          ],
          failover: { strategy: 'Priority', failbackAfterSeconds: 3600 },
          economics: {
            enabled: true,
            power: { wattsPerMiner: 100 },
            electricityPrice: { perKWh: 0.1, currency: 'USD' },
            feeds: {
              LTC: { price: { http: { url: feedUrl, fieldPath: 'litecoin.usd', refreshSeconds: 10 } }, difficulty: litecoindFeed, blockReward: litecoindFeed },
            },
            minMarginPercent: 0,
            resumeMarginPercent: 20,
            evaluationWindowSeconds: 60,
            minOffSeconds: 0,
            feedMaxAgeSeconds: 60,
          },
        },
      },
    ];
    await ok(c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: docs.map((d) => stringify(d)).join('---\n') }));
  });

  afterAll(async () => {
    process.stderr.write(`[e2e secrets] ${JSON.stringify(figures)}\n`);
    await c.kubectl(['delete', 'namespace', NS, '--wait=false']);
    await operator?.uninstall();
    await c.kubectl(['delete', 'namespace', OPERATOR_NS, '--wait=false']);
    feed?.closeAllConnections();
    await new Promise((r) => (feed ? feed.close(r) : r(undefined)));
    await Promise.all([a?.stop(), b?.stop(), ltc?.stop(), fdb?.stop()]);
  });

  it('mines on the first pool with the password from the Secret, and the collector fills status.hashrate', async () => {
    const t0 = Date.now();
    await waitFor(async () => ((await readyMiners()).length === 2 ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 500,
      description: '2 Ready miner pods',
    });
    await waitFor(async () => ((await fleet()).status?.hashrate > 0 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 1000,
      description: 'status.hashrate > 0',
    });
    figures.hashrateMs = Date.now() - t0;
    expect((await fleet()).status.activePool).toBe('pool-a');
    expect(a.logins.filter((l) => l.password === POOL_PASSWORD).length).toBeGreaterThanOrEqual(2);
  });

  it('the first pool dies: the fleet fails over to the second, whose logins carry the same password', async () => {
    await captureMiners('before failover');
    const t = Date.now();
    await a.stop();
    await waitFor(async () => ((await fleet()).status?.activePool === 'pool-b' ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'activePool pool-b',
    });
    await waitFor(() => (b.logins.filter((l) => l.password === POOL_PASSWORD).length >= 2 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: 'both miners logged in at pool-b',
    });
    figures.failoverMs = Date.now() - t;
  });

  it('the price drops to 0: the fleet is suspended; it recovers: the fleet resumes with Ready miners', async () => {
    await captureMiners('before suspension');
    // Regtest difficulty makes revenue enormous: only a vanishing price makes mining lose money.
    price = 1e-15;
    let t = Date.now();
    await waitFor(async () => ((await fleet()).status?.suspended === true ? true : undefined), {
      timeoutMs: 200_000,
      intervalMs: 1000,
      description: 'status.suspended true',
    });
    figures.suspendMs = Date.now() - t;
    price = 100;
    t = Date.now();
    await waitFor(async () => ((await fleet()).status?.suspended === false && (await readyMiners()).length === 2 ? true : undefined), {
      timeoutMs: 200_000,
      intervalMs: 1000,
      description: 'resumed with 2 Ready miners',
    });
    figures.resumeMs = Date.now() - t;
  }, 420_000);

  it('no password in any log, Event, status, object, metric or stored document', async () => {
    await captureMiners('at the end');
    const [operator] = (await kjson(['-n', OPERATOR_NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=operator'])).items as Any[];
    expect(operator, 'the operator pod').toBeDefined();
    for (const prev of [false, true]) {
      const r = await c.kubectl(['-n', OPERATOR_NS, 'logs', operator.metadata.name, '--all-containers', ...(prev ? ['--previous'] : [])]);
      if (r.code === 0) captured.push({ what: `operator log${prev ? ' (previous)' : ''}`, text: r.stdout });
    }
    const opMetrics = await fetch(`http://${operator.status.podIP}:${portOf(operator, 'metrics')}/metrics`);
    expect(opMetrics.ok).toBe(true);
    captured.push({ what: 'operator /metrics', text: await opMetrics.text() });
    captured.push({ what: 'Events', text: await ok(c.kubectl(['get', 'events', '-A', '-o', 'json'])) });
    for (const kind of ['minerfleets', 'miningpools', 'deployments', 'configmaps', 'pods', 'networkpolicies', 'leases', 'services'])
      captured.push({ what: kind, text: await ok(c.kubectl(['get', kind, '-A', '-o', 'json'])) });

    const client = new MongoClient(fdb.uri, { serverSelectionTimeoutMS: 10_000 });
    let documents = 0;
    const collections: string[] = [];
    try {
      await client.connect();
      const dbs = (await client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
      for (const dbName of dbs) {
        const db = client.db(dbName);
        for (const col of await db.listCollections().toArray()) {
          const docs = await db.collection(col.name).find({}).toArray();
          documents += docs.length;
          collections.push(`${dbName}.${col.name}=${docs.length}`);
          captured.push({ what: `mongodb ${dbName}.${col.name}`, text: JSON.stringify(docs) });
        }
      }
      // The history really holds this run: the failover and the suspension were recorded.
      const all = captured
        .filter((x) => x.what.startsWith('mongodb '))
        .map((x) => x.text)
        .join('\n');
      expect(all, collections.join(', ')).toContain('pool-b');
      expect(all, collections.join(', ')).toMatch(/[Ss]uspend/);
    } finally {
      await client.close();
    }
    figures.capturedTexts = captured.length;
    figures.storedDocuments = documents;
    figures.capturedBytes = captured.reduce((s, x) => s + x.text.length, 0);

    expect(captured.some((x) => x.what.includes('pod') && x.what.endsWith('log') && x.text.length > 0)).toBe(true);
    for (const secret of [POOL_PASSWORD, ltc.rpcPassword, MONGO_PASSWORD])
      for (const { what, text } of captured) expect(text.includes(secret), `${what} contains a password`).toBe(false);
    // The economics really read litecoind with the RPC login (its figures come from there).
    expect((await fleet()).status.profitability?.revenuePerDay).toBeGreaterThan(0);
  });
});
