// A field removed from a MinerFleet's spec is removed from its live Deployment (the applied-hash
// annotation makes the removal visible to the subset check), and a steady fleet still costs no writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import { APPLIED_HASH_ANNOTATION } from '../../operator/src/runtime/applied-hash.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { isNotFound, KubeRest } from '../../operator/src/runtime/rest.js';
import { installCrds, startControlPlane, type ControlPlane } from '../support/index.js';
import { createNamespace, fleet, pool, secret } from './fixtures.js';
import { eventually, testLogger } from './helpers.js';

type Any = any;

let cp: ControlPlane;
let rest: KubeRest;
let mgr: Manager;
let running: Promise<unknown>;
let fc: ReturnType<typeof setupMinerFleetController>;
const NS = 'drift';
const G = '/apis/minefleet.io/v1alpha1';
const NAME = 'shrinking';
const fleetPath = `${G}/namespaces/${NS}/minerfleets/${NAME}`;
const depPath = `/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`;

const dep = async (): Promise<Any | undefined> => {
  try {
    return await rest.get<Any>(depPath);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const podSpec = async (): Promise<Any | undefined> => (await dep())?.spec.template.spec;
const reconcileTotal = () => mgr.metrics.reconcileTotal.get().then((m) => m.values.reduce((a, v) => a + v.value, 0));

/** Enqueues the fleet and waits until one more reconcile ran; returns the applies it made. */
async function forcedReconcile(): Promise<number> {
  const before = fc.reconciler.stats.applies;
  const n = await reconcileTotal();
  fc.controller.queue.add(`${NS}/${NAME}`);
  await eventually(async () => (await reconcileTotal()) > n, 'forced reconcile ran', 20_000, 20);
  return fc.reconciler.stats.applies - before;
}

beforeAll(async () => {
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  // pods naming a missing PriorityClass are rejected at admission: give the fleet a real one
  await rest.create('/apis/scheduling.k8s.io/v1/priorityclasses', {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'mining' },
    value: 1000,
  });
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  await rest.create(`${G}/namespaces/${NS}/miningpools`, pool(NS, 'primary', 'creds', 3333));
  mgr = new Manager({ kubeConfig: cp.kubeConfig, logger: testLogger(), probePort: 0, metricsPort: 0, bindHost: '127.0.0.1' });
  fc = setupMinerFleetController(mgr, { minerImage: 'minefleet:test', concurrency: 1, backoffMaxMs: 2000 }, testLogger());
  running = mgr.start();
}, 240_000);

afterAll(async () => {
  await mgr?.stop();
  await running?.catch(() => undefined);
  await cp?.stop();
});

describe('drift repair removes what the fleet no longer asks for', () => {
  it('nodeSelector, tolerations, affinity, priorityClassName, imagePullPolicy and a resource key each leave the live Deployment; steady resyncs write nothing', async () => {
    const f: Any = fleet(NS, NAME, 'cpu', [{ name: 'primary', priority: 0 }], 1);
    f.spec.miner.imagePullPolicy = 'Always';
    f.spec.miner.resources = { limits: { 'ephemeral-storage': '1Gi' } };
    f.spec.placement = {
      nodeSelector: { 'minefleet.io/rig': 'a' },
      tolerations: [{ key: 'minefleet.io/mining', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] }],
          },
        },
      },
      priorityClassName: 'mining',
    };
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, f);
    const s0 = await eventually(async () => {
      const s = await podSpec();
      return s?.priorityClassName === 'mining' ? s : undefined;
    }, 'deployment with the full placement');
    expect(s0.nodeSelector).toEqual({ 'minefleet.io/rig': 'a' });
    expect(s0.tolerations).toEqual([{ key: 'minefleet.io/mining', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(s0.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toHaveLength(1);
    expect(s0.containers[0].imagePullPolicy).toBe('Always');
    expect(s0.containers[0].resources.limits['ephemeral-storage']).toBe('1Gi');
    expect((await dep()).metadata.annotations[APPLIED_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{20}$/);

    const removals: Array<{ field: string; gone: (s: Any) => boolean }> = [
      { field: '/spec/placement/nodeSelector', gone: (s) => s.nodeSelector === undefined },
      { field: '/spec/placement/tolerations', gone: (s) => s.tolerations === undefined },
      { field: '/spec/placement/affinity', gone: (s) => s.affinity === undefined },
      { field: '/spec/placement/priorityClassName', gone: (s) => s.priorityClassName === undefined },
      // the API server defaults a pull policy nobody sets: IfNotPresent for a tag other than :latest
      { field: '/spec/miner/imagePullPolicy', gone: (s) => s.containers[0].imagePullPolicy === 'IfNotPresent' },
      { field: '/spec/miner/resources/limits/ephemeral-storage', gone: (s) => s.containers[0].resources.limits?.['ephemeral-storage'] === undefined },
    ];
    for (const { field, gone } of removals) {
      const before = await podSpec();
      expect(gone(before), `${field} present before its removal`).toBe(false);
      await rest.request('PATCH', fleetPath, { body: [{ op: 'remove', path: field }], contentType: 'application/json-patch+json' });
      // (each next field is still present when its turn comes: checked at the top of the loop)
      await eventually(async () => {
        const s = await podSpec();
        return s && gone(s);
      }, `${field} removed from the live Deployment`);
    }
    const last = await podSpec();
    expect(last.containers[0].resources.limits.cpu).toBeDefined(); // the device's own limits stay

    // Steady state: once the cache holds the last apply, resyncs write nothing. Wait for one
    // reconcile without an apply, then every further one must be free (checked strictly, not
    // inside `eventually`, so a controller that applies every other time fails).
    await eventually(async () => (await forcedReconcile()) === 0, 'a reconcile without writes', 30_000, 200);
    const generation = (await dep()).metadata.generation;
    const writes: number[] = [];
    for (let i = 0; i < 5; i++) writes.push(await forcedReconcile());
    console.log(`[drift-removal] applies over 5 forced resyncs of a steady fleet: ${JSON.stringify(writes)}`);
    expect(writes).toEqual([0, 0, 0, 0, 0]);
    expect((await dep()).metadata.generation).toBe(generation);
  });
});
