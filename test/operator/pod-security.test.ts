/**
 * Pod Security admission on the real API server (with kube-controller-manager creating the
 * ReplicaSets' pods): in a namespace enforcing `restricted`, a cpu fleet's pods are admitted,
 * while a usb fleet (hostPath device volumes) is refused and says so on the fleet, naming the
 * reason and the fix, instead of leaving a Deployment silently at 0 pods. When the namespace is
 * relabelled `privileged` the same fleet gets its pods and the condition clears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import { podCreationRefused } from '../../operator/src/controllers/minerfleet/status.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { installCrds, startControlPlane, type ControlPlane } from '../support/index.js';
import { fleet, pool, secret } from './fixtures.js';
import { eventually, testLogger } from './helpers.js';

type Any = any;
const NS = 'psa-restricted';
const G = '/apis/minefleet.io/v1alpha1';
const ENFORCE = 'pod-security.kubernetes.io/enforce';

let cp: ControlPlane;
let rest: KubeRest;
let mgr: Manager;
let running: Promise<unknown>;

const cond = (f: Any, type: string) => f?.status?.conditions?.find((c: Any) => c.type === type);
const getFleet = (name: string) => rest.get<Any>(`${G}/namespaces/${NS}/minerfleets/${name}`);
const podsOf = async (name: string) =>
  ((await rest.get<Any>(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`minefleet.io/fleet=${name}`)}`)).items ?? []) as Any[];

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { [ENFORCE]: 'restricted' } } });
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

describe('Pod Security admission', () => {
  it('a cpu fleet passes restricted: its pods are admitted and the fleet is not Degraded', async () => {
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, 'cpu', 'cpu', [{ name: 'primary', priority: 0 }], 2));
    const pods = await eventually(async () => ((await podsOf('cpu')).length === 2 ? podsOf('cpu') : undefined), 'the cpu fleet pods admitted');
    expect(pods).toHaveLength(2);
    const f = await getFleet('cpu');
    expect(cond(f, 'Degraded')?.reason).not.toBe('PodSecurityViolation');
    const dep = (await rest.get<Any>(`/apis/apps/v1/namespaces/${NS}/deployments`)).items.find((d: Any) => d.metadata.ownerReferences?.[0]?.name === 'cpu');
    expect(dep).toBeDefined();
    expect(dep.status?.conditions?.find((c: Any) => c.type === 'ReplicaFailure')).toBeUndefined();
  });

  it('a usb fleet is refused by restricted and the fleet names the reason and the fix; privileged admits it', async () => {
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, 'usb', 'usb', [{ name: 'primary', priority: 0 }], 1));
    const f = await eventually(async () => {
      const x = await getFleet('usb');
      return cond(x, 'Degraded')?.reason === 'PodSecurityViolation' ? x : undefined;
    }, 'Degraded=PodSecurityViolation on the usb fleet');
    const degraded = cond(f, 'Degraded');
    expect(degraded.status).toBe('True');
    expect(degraded.message).toContain('violates PodSecurity "restricted');
    expect(degraded.message).toContain('hostPath');
    expect(degraded.message).toContain(`${ENFORCE}=privileged`);
    expect(cond(f, 'Ready')).toMatchObject({ status: 'False', reason: 'PodSecurityViolation' });
    expect(await podsOf('usb')).toHaveLength(0);

    // The fix is on the namespace: the ReplicaSet retries, the pod is admitted, the condition clears.
    await rest.mergePatch(`/api/v1/namespaces/${NS}`, { metadata: { labels: { [ENFORCE]: 'privileged' } } });
    await eventually(async () => (await podsOf('usb')).length === 1, 'the usb pod admitted under privileged', 120_000, 250);
    const after = await eventually(
      async () => {
        const x = await getFleet('usb');
        return cond(x, 'Degraded')?.status === 'False' ? x : undefined;
      },
      'Degraded cleared on the usb fleet',
      120_000,
      250,
    );
    expect(cond(after, 'Degraded').reason).toBe('AsExpected');
  }, 240_000);
});

describe('podCreationRefused', () => {
  const usb = fleet(NS, 'usb', 'usb', [{ name: 'primary', priority: 0 }]) as Any;
  const cpu = fleet(NS, 'cpu', 'cpu', [{ name: 'primary', priority: 0 }]) as Any;
  const failure = (message: string) => ({ status: { conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message }] } });

  it('is undefined without a ReplicaFailure condition, or when it is False', () => {
    expect(podCreationRefused(cpu, undefined)).toBeUndefined();
    expect(podCreationRefused(cpu, { status: { conditions: [{ type: 'Available', status: 'True' }] } })).toBeUndefined();
    expect(podCreationRefused(cpu, { status: { conditions: [{ type: 'ReplicaFailure', status: 'False', message: 'x' }] } })).toBeUndefined();
  });

  it('names Pod Security with the admission message, and for usb fleets the namespace label that admits them', () => {
    const msg =
      'pods "usb-1" is forbidden: violates PodSecurity "restricted:latest": restricted volume types (volume "dev-0" uses restricted volume type "hostPath")';
    const r = podCreationRefused(usb, failure(msg))!;
    expect(r.reason).toBe('PodSecurityViolation');
    expect(r.message).toContain(msg);
    expect(r.message).toContain('pod-security.kubernetes.io/enforce=privileged');
    expect(podCreationRefused(cpu, failure(msg))!.message).not.toContain('enforce=privileged');
  });

  it('any other refusal (quota, a missing RuntimeClass) is PodCreationFailed with the message', () => {
    const msg = 'pods "cpu-1" is forbidden: exceeded quota: q, requested: cpu=2, used: cpu=0, limited: cpu=1';
    expect(podCreationRefused(cpu, failure(msg))).toEqual({ reason: 'PodCreationFailed', message: `miner pods cannot be created: ${msg}` });
  });
});
