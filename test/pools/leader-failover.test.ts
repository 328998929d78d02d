/**
 * The leader killed in the middle of a failover: two operator processes with Lease leader
 * election and the history store on FerretDB, a Priority fleet on two real Stratum pools. The
 * leader is SIGKILLed (1) right after it published the failover in the runtime ConfigMap, and
 * later (2) right when the pool's probe status turned Available=False, before the fleet moved.
 * Each time the standby takes over and completes the failover (ConfigMap, status), exactly one
 * switch record per switch lands in the history store, and the fleet does not flap afterwards.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { makeTempDir, sleep, startControlPlane, startFerretDB, waitFor, type ControlPlane, type FerretDB } from '../support/index.js';
import {
  capturedOutputs,
  createMinerFleet,
  G,
  getOrUndefined,
  prepareNamespace,
  requireBuild,
  RIG_POOL_PASSWORD,
  runtimeOf,
  startOperatorProcess,
  startProbedPools,
  waitPoolsAvailable,
  type OperatorProcess,
  type RestartablePool,
} from '../support/fleetRig.js';

type Any = any;
const NS = 'pools-ha';
const FLEET = 'ha';
const LEASE_SECONDS = 5;
const FAILBACK_SECONDS = 10;
const PROBE = { intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 1, successThreshold: 1 };
const DB = `pools_ha_${randomUUID().slice(0, 8)}`;

let cp: ControlPlane;
let rest: KubeRest;
let ferret: FerretDB;
let mongo: MongoClient;
let dir: string;
const ops: Record<string, OperatorProcess> = {};
const everyOp: OperatorProcess[] = [];
const pools: Record<string, RestartablePool> = {};

const holder = async (): Promise<string | undefined> =>
  (await getOrUndefined(rest, `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/minefleet-operator`))?.spec?.holderIdentity;
const fleetStatus = async () => (await rest.get<Any>(`${G}/namespaces/${NS}/minerfleets/${FLEET}`)).status ?? {};
const switchRecords = async () =>
  mongo
    .db(DB)
    .collection('events')
    .find({ namespace: NS, fleet: FLEET, type: { $in: ['failover', 'failback'] } })
    .toArray();

async function startOp(identity: string): Promise<OperatorProcess> {
  const o = await startOperatorProcess(cp, {
    dir,
    namespace: NS,
    identity,
    leaseSeconds: LEASE_SECONDS,
    historyUri: ferret.uri,
    extraArgs: [`--history-db=${DB}`],
  });
  ops[identity] = o;
  everyOp.push(o);
  return o;
}

/** Watches the runtime ConfigMap from now on: every distinct (activePool, revision) seen. */
function recordDecisions(): { seen: Array<{ activePool: string; revision: number }>; stop: () => void } {
  const seen: Array<{ activePool: string; revision: number }> = [];
  let on = true;
  void (async () => {
    while (on) {
      const r = await runtimeOf(rest, NS, FLEET).catch(() => undefined);
      if (r && (seen.length === 0 || seen.at(-1)!.revision !== r.revision)) seen.push({ activePool: r.activePool, revision: r.revision });
      await sleep(100);
    }
  })();
  return { seen, stop: () => (on = false) };
}

beforeAll(async () => {
  requireBuild();
  dir = makeTempDir('pools-ha');
  [cp, ferret] = await Promise.all([startControlPlane(), startFerretDB()]);
  mongo = new MongoClient(ferret.uri);
  rest = new KubeRest(cp.kubeConfig);
  await prepareNamespace(cp, rest, NS);
  Object.assign(pools, await startProbedPools(rest, NS, ['pa', 'pb'], PROBE));
  await startOp('op-a');
  await waitFor(async () => (await holder()) === 'op-a', { timeoutMs: 60_000, description: 'op-a leads' });
  await startOp('op-b');
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ops['op-b']!.probePort}/readyz`)).status === 200, {
    timeoutMs: 60_000,
    description: 'op-b ready as a standby',
  });
  await waitPoolsAvailable(rest, NS, ['pa', 'pb']);
  await createMinerFleet(
    rest,
    NS,
    FLEET,
    2,
    [
      { name: 'pa', priority: 0 },
      { name: 'pb', priority: 1 },
    ],
    { strategy: 'Priority', failbackAfterSeconds: FAILBACK_SECONDS },
  );
  await waitFor(async () => (await runtimeOf(rest, NS, FLEET))?.activePool === 'pa' && (await fleetStatus()).activePool === 'pa', {
    timeoutMs: 60_000,
    description: 'fleet on pa',
  });
}, 300_000);

afterAll(async () => {
  await Promise.all(everyOp.map((o) => o.proc.stop(15_000)));
  for (const p of Object.values(pools)) await p.stop();
  await mongo?.close();
  await ferret?.stop();
  await cp?.stop();
});

describe('leader killed in the middle of a failover', () => {
  it('killed right after publishing the decision: the standby completes it, one record, no flapping', async () => {
    const watch = recordDecisions();
    const before = (await runtimeOf(rest, NS, FLEET))!;
    await pools.pa!.kill();
    await waitFor(async () => ((await runtimeOf(rest, NS, FLEET))?.activePool === 'pb' ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 20,
      description: 'the leader publishes pb',
    });
    await ops['op-a']!.proc.kill(); // SIGKILL: no lease release, no flush of the history buffer
    const statusAtKill = (await fleetStatus()).activePool;
    console.log(`leader op-a killed after publishing pb; status.activePool was ${statusAtKill} at the kill`);

    await waitFor(async () => (await holder()) === 'op-b', { timeoutMs: (LEASE_SECONDS + 10) * 1000, description: 'op-b takes over' });
    await waitFor(async () => ((await fleetStatus()).activePool === 'pb' ? true : undefined), { timeoutMs: 60_000, description: 'status.activePool pb' });
    const records = await waitFor(
      async () => {
        const r = (await switchRecords()).filter((e) => e.type === 'failover');
        return r.length > 0 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'the failover recorded in the history store' },
    );
    // no flapping: nothing moves for a while after the takeover (pa stays dead)
    await sleep(15_000);
    watch.stop();
    expect(watch.seen.map((s) => s.activePool)).toEqual(['pa', 'pb']);
    expect(watch.seen[1]!.revision).toBe(before.revision + 1);
    expect((await runtimeOf(rest, NS, FLEET))!.revision).toBe(before.revision + 1);
    const all = (await switchRecords()).filter((e) => e.type === 'failover');
    expect(all).toHaveLength(1);
    expect(all[0]!.details).toMatchObject({ from: 'pa', to: 'pb', revision: before.revision + 1 });
    expect(records[0]!._id).toBe(all[0]!._id);
    const st = await fleetStatus();
    expect(st.conditions.find((c: Any) => c.type === 'PoolAvailable').status).toBe('True');
  }, 180_000);

  it('killed when the probe saw the pool down, before the fleet moved: the new leader fails over once', async () => {
    // Back to pa first (failback after FAILBACK_SECONDS, done by op-b), with op-a back as a standby.
    await pools.pa!.revive();
    await startOp('op-a2');
    await waitFor(async () => ((await runtimeOf(rest, NS, FLEET))?.activePool === 'pa' ? true : undefined), {
      timeoutMs: 90_000,
      description: 'failback to pa',
    });
    await waitFor(async () => (await fleetStatus()).activePool === 'pa' && (await fetch(`http://127.0.0.1:${ops['op-a2']!.probePort}/readyz`)).ok, {
      timeoutMs: 60_000,
      description: 'status on pa, op-a2 standing by',
    });
    const before = (await runtimeOf(rest, NS, FLEET))!;
    const watch = recordDecisions();
    await pools.pa!.kill();
    await waitFor(
      async () => {
        const p = await rest.get<Any>(`${G}/namespaces/${NS}/miningpools/pa`);
        return p.status?.conditions?.find((c: Any) => c.type === 'Available')?.status === 'False';
      },
      { timeoutMs: 60_000, intervalMs: 20, description: 'pa probed unavailable' },
    );
    await ops['op-b']!.proc.kill();
    const atKill = await runtimeOf(rest, NS, FLEET);
    console.log(`leader op-b killed when pa turned unavailable; the ConfigMap named ${atKill?.activePool} at the kill`);
    await waitFor(async () => (await holder()) === 'op-a2', { timeoutMs: (LEASE_SECONDS + 10) * 1000, description: 'op-a2 takes over' });
    await waitFor(async () => ((await fleetStatus()).activePool === 'pb' && (await runtimeOf(rest, NS, FLEET))?.activePool === 'pb' ? true : undefined), {
      timeoutMs: 60_000,
      description: 'failover to pb completed by op-a2',
    });
    await sleep(15_000);
    watch.stop();
    expect(watch.seen.map((s) => s.activePool)).toEqual(['pa', 'pb']);
    const recs = await waitFor(
      async () => {
        const r = await switchRecords();
        return r.length >= 3 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'three switch records' },
    );
    await sleep(2000);
    const final = await switchRecords();
    expect(final).toHaveLength(recs.length);
    const summary = final
      .map((e) => `${e.type}:${e.details.from}->${e.details.to}@${e.details.revision}`)
      .sort((a, b) => Number(a.split('@')[1]) - Number(b.split('@')[1]));
    expect(summary).toEqual([`failover:pa->pb@${before.revision - 1}`, `failback:pb->pa@${before.revision}`, `failover:pa->pb@${before.revision + 1}`]);
    expect(new Set(final.map((e) => e.actor)).size).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it('no pool password in any operator log, /metrics, status, Event or the history store', async () => {
    for (const { what, text } of await capturedOutputs(rest, NS, everyOp)) expect(text.includes(RIG_POOL_PASSWORD), what).toBe(false);
    const db = mongo.db(DB);
    for (const c of await db.listCollections().toArray()) {
      const docs = await db.collection(c.name).find({}).toArray();
      expect(JSON.stringify(docs).includes(RIG_POOL_PASSWORD), `history collection ${c.name}`).toBe(false);
    }
  });
});
