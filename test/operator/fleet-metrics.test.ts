/**
 * minefleet_fleet_desired_replicas / minefleet_fleet_ready_replicas: set by the MinerFleet
 * controller from the Deployment it owns, on a real kube-apiserver with the real
 * controller-manager (Deployment → ReplicaSet → Pods). There is no kubelet here, so the test plays
 * the kubelet's part for readiness: it writes Running/Ready into the pods' status subresource,
 * and the ReplicaSet and Deployment controllers count them as they would on a node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicaCounts } from '../../operator/src/controllers/minerfleet/status.js';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { installCrds, startControlPlane, type ControlPlane } from '../support/index.js';
import { createNamespace, fleet, pool, secret } from './fixtures.js';
import { eventually, testLogger } from './helpers.js';

const NS = 'fleet-metrics';
const G = '/apis/minefleet.io/v1alpha1';
let cp: ControlPlane;
let rest: KubeRest;
let mgr: Manager;
let running: Promise<unknown>;

/** The fleet gauges as Prometheus scrapes them from the operator's /metrics endpoint. */
async function gauges(fleetName: string): Promise<{ desired?: number; ready?: number }> {
  const text = await (await fetch(`http://127.0.0.1:${mgr.health.ports.metrics}/metrics`)).text();
  const read = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`namespace="${NS}"`) && l.includes(`fleet="${fleetName}"`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { desired: read('minefleet_fleet_desired_replicas'), ready: read('minefleet_fleet_ready_replicas') };
}

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  await rest.create(`${G}/namespaces/${NS}/miningpools`, pool(NS, 'primary', 'creds', 3333));
  mgr = new Manager({ kubeConfig: cp.kubeConfig, logger: testLogger(), probePort: 0, metricsPort: 0, bindHost: '127.0.0.1' });
  setupMinerFleetController(mgr, { minerImage: 'minefleet:test', concurrency: 2, backoffMaxMs: 2000 }, testLogger());
  running = mgr.start();
}, 240_000);

afterAll(async () => {
  await mgr?.stop();
  await running?.catch(() => undefined);
  await cp?.stop();
});

describe('replicaCounts (pure)', () => {
  it('reads the Deployment once it exists, else the replicas the fleet wants now', () => {
    expect(replicaCounts(undefined, 3)).toEqual({ desired: 3, ready: 0 });
    expect(replicaCounts({ spec: { replicas: 2 }, status: { readyReplicas: 1 } }, 3)).toEqual({ desired: 2, ready: 1 });
    expect(replicaCounts({ spec: { replicas: 0 }, status: {} }, 0)).toEqual({ desired: 0, ready: 0 });
  });
});

describe('fleet replica gauges on a real API server', () => {
  it('follow the Deployment: desired, ready as pods become Ready, 0 desired when paused, gone with the fleet', async () => {
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, 'farm', 'cpu', [{ name: 'primary', priority: 0 }], 2));
    expect(await eventually(async () => ((await gauges('farm')).desired === 2 ? gauges('farm') : undefined), 'desired 2', 120_000, 250)).toEqual({
      desired: 2,
      ready: 0, // no kubelet: the pods exist but nobody reports them ready yet
    });

    // Play the kubelet: both pods Running and Ready.
    const pods = await eventually(
      async () => {
        const list = await rest.get<{ items: Array<{ metadata: { name: string } }> }>(`/api/v1/namespaces/${NS}/pods`, {
          labelSelector: 'minefleet.io/fleet=farm',
        });
        return list.items.length === 2 ? list.items : undefined;
      },
      'two miner pods created by the ReplicaSet',
      120_000,
      250,
    );
    const now = new Date().toISOString();
    for (const p of pods)
      await rest.mergePatch(`/api/v1/namespaces/${NS}/pods/${p.metadata.name}/status`, {
        status: {
          phase: 'Running',
          conditions: [
            { type: 'Ready', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
          ],
        },
      });
    expect(await eventually(async () => ((await gauges('farm')).ready === 2 ? gauges('farm') : undefined), 'ready 2', 120_000, 250)).toEqual({
      desired: 2,
      ready: 2,
    });

    await rest.mergePatch(`${G}/namespaces/${NS}/minerfleets/farm`, { spec: { paused: true } });
    expect(
      (await eventually(async () => ((await gauges('farm')).desired === 0 ? gauges('farm') : undefined), 'desired 0 while paused', 120_000, 250)).desired,
    ).toBe(0);

    await rest.delete(`${G}/namespaces/${NS}/minerfleets/farm`);
    expect(
      await eventually(
        async () => {
          const g = await gauges('farm');
          return g.desired === undefined && g.ready === undefined ? g : undefined;
        },
        'series removed with the fleet',
        120_000,
        250,
      ),
    ).toEqual({ desired: undefined, ready: undefined });
  });
});
