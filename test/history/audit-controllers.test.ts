/**
 * The audit trail from the controllers' real paths, on a real API server and FerretDB: operator
 * leadership changes (two instances on one Lease: elected, released on shutdown, taken over),
 * MiningPool probe state changes (first probe, Closed -> Open on failures, back to Closed) and a
 * fleet's missing reference, each in the `events` collection once with the acting instance.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import { setupMiningPoolController } from '../../operator/src/controllers/miningpool/controller.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { StoreAuditSink, type HistoryStore } from '../../operator/src/store/index.js';
import { leadershipAuditRecord } from '../../operator/src/store/leadership-audit.js';
import { installCrds, startControlPlane, startFerretDB, type ControlPlane, type FerretDB } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { createNamespace, SECRET_PASSWORD } from '../operator/fixtures.js';
import { eventually } from '../operator/helpers.js';
import { openStore, tempDir, uniqueDbName } from '../store/helpers.js';

type Any = any;
const NS = 'audit-ctl';
const G = '/apis/minefleet.io/v1alpha1';
const log = pino({ level: process.env.AUDIT_CTL_LOG ?? 'silent' });
let cp: ControlPlane;
let fdb: FerretDB;
let store: HistoryStore;
let rest: KubeRest;
let stratum: StratumPool | undefined;
const spill = tempDir('audit-ctl');
const instances: Array<{ mgr: Manager; sink: StoreAuditSink; running: Promise<unknown> }> = [];

function instance(identity: string) {
  const sink = new StoreAuditSink(store, { actor: identity, logger: log });
  const mgr = new Manager({
    kubeConfig: cp.kubeConfig,
    logger: log,
    probePort: 0,
    metricsPort: 0,
    bindHost: '127.0.0.1',
    namespaces: [NS],
    leaderElection: {
      leaseName: 'minefleet-audit',
      leaseNamespace: NS,
      identity,
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 500,
      releaseOnCancel: true,
    },
  });
  // As setupHistory wires it.
  mgr.onLeadershipChange((c) => sink.record(leadershipAuditRecord(c, NS)));
  setupMiningPoolController(mgr, { concurrency: 4, audit: sink }, log);
  setupMinerFleetController(mgr, { minerImage: 'minefleet:test', concurrency: 2, backoffMaxMs: 2000, audit: sink }, log);
  const i = { mgr, sink, running: mgr.start() };
  instances.push(i);
  return i;
}

const events = async (filter: Record<string, unknown>) => {
  for (const i of instances) await i.sink.drain();
  await store.flush(30_000);
  return (await store.database().collection(store.names.events).find(filter).sort({ time: 1 }).toArray()) as Any[];
};

beforeAll(async () => {
  [cp, fdb] = await Promise.all([startControlPlane(), startFerretDB()]);
  ({ store } = await openStore({
    uri: fdb.uri,
    dbName: uniqueDbName('auditctl'),
    buffer: { spillDir: spill.dir },
    writer: { batchSize: 10, flushIntervalMs: 50, retryInitialMs: 50, retryMaxMs: 500 },
  }));
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: NS },
    stringData: { username: 'wallet-abc', password: SECRET_PASSWORD },
  });
}, 240_000);

afterAll(async () => {
  for (const i of instances) {
    await i.mgr.stop();
    await i.running.catch(() => undefined);
  }
  await stratum?.stop();
  await store?.close({ flushTimeoutMs: 0 });
  await cp?.stop();
  await fdb?.stop();
  spill.remove();
});

describe('audit trail from the controllers', () => {
  it('records leadership, pool probe state changes and missing references once each', { timeout: 240_000 }, async () => {
    const a = instance('operator-a');
    await eventually(() => a.mgr.isLeader, 'operator-a leads');
    const b = instance('operator-b');

    // Pool: first probe (Unknown -> Available), failures (Closed -> Open), recovery (Open -> Closed).
    stratum = await startStratumPool({ difficulty: 0.001 });
    await rest.create(`${G}/namespaces/${NS}/miningpools`, {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MiningPool',
      metadata: { name: 'pool-a', namespace: NS },
      spec: {
        url: stratum.url,
        coins: ['LTC'],
        credentialsSecretRef: { name: 'creds' },
        probe: { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1, successThreshold: 1 },
      },
    });
    await eventually(async () => (await events({ pool: 'pool-a', type: 'probe-state' })).length >= 1, 'first probe-state event');
    stratum.setBehavior({ rejectAuthorize: true });
    await eventually(async () => (await events({ pool: 'pool-a', type: 'probe-state', reason: 'PoolUnavailable' })).length >= 1, 'PoolUnavailable event');
    stratum.setBehavior({ rejectAuthorize: false });
    await eventually(async () => (await events({ pool: 'pool-a', type: 'probe-state' })).length >= 3, 'PoolAvailable again');
    const probeStates = (await events({ pool: 'pool-a', type: 'probe-state' })).slice(0, 3);
    expect(probeStates.map((e) => [e.reason, e.details.previousAvailable, e.details.available, e.details.previous, e.details.circuit])).toEqual([
      ['PoolAvailable', 'Unknown', 'True', 'Closed', 'Closed'],
      ['PoolUnavailable', 'True', 'False', 'Closed', 'Open'],
      ['PoolAvailable', 'False', 'True', 'Open', 'Closed'],
    ]);
    for (const e of probeStates) expect(e).toMatchObject({ scope: 'pool', namespace: NS, actor: 'operator-a' });
    expect(probeStates[1].details.probeReason).toBe('AuthorizeRejected');
    expect((await store.database().collection(store.names.probes).countDocuments({ pool: 'pool-a' })) >= 3).toBe(true);

    // A fleet that names a pool that does not exist: one missing-reference event, however often it is reconciled.
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MinerFleet',
      metadata: { name: 'lonely', namespace: NS },
      spec: { replicas: 1, device: { kind: 'cpu' }, miner: { backend: 'cpu', threads: 1 }, pools: [{ name: 'ghost', priority: 0 }] },
    });
    await eventually(async () => (await events({ fleet: 'lonely', type: 'missing-reference' })).length >= 1, 'missing-reference event');
    await eventually(async () => (await rest.get<Any>(`${G}/namespaces/${NS}/minerfleets/lonely`)).status?.conditions !== undefined, 'fleet status');
    await rest.mergePatch(`${G}/namespaces/${NS}/minerfleets/lonely`, { metadata: { labels: { touched: 'yes' } } }); // another reconcile
    await new Promise((r) => setTimeout(r, 3000));
    const missing = await events({ fleet: 'lonely', type: 'missing-reference' });
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ scope: 'fleet', pool: 'ghost', reason: 'PoolNotFound', severity: 'warning', actor: 'operator-a' });
    expect(missing[0].message).toContain('MiningPool "ghost" not found');

    // Leadership: a stops (releases the lease), b takes over.
    await a.mgr.stop();
    await a.running;
    await eventually(() => b.mgr.isLeader, 'operator-b leads');
    await eventually(async () => (await events({ scope: 'operator', actor: 'operator-b' })).length >= 1, 'operator-b elected event');
    const leadership = await events({ scope: 'operator' });
    expect(leadership.map((e) => [e.actor, e.reason, e.details.leading])).toEqual([
      ['operator-a', 'LeaderElected', true],
      ['operator-a', 'LeaderReleased', false],
      ['operator-b', 'LeaderElected', true],
    ]);
    for (const e of leadership) expect(e).toMatchObject({ type: 'leadership', namespace: NS, details: { lease: `${NS}/minefleet-audit` } });
    expect(leadership.every((e) => e.fleet === undefined && e.pool === undefined)).toBe(true);
    expect(JSON.stringify(await events({}))).not.toContain(SECRET_PASSWORD);
  });
});
