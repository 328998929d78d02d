import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import { CONFIG_CHECKSUM_ANNOTATION } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { isNotFound, KubeRest } from '../../operator/src/runtime/rest.js';
import { installCrds, apiserverWriteCounts, startControlPlane, type ControlPlane } from '../support/index.js';
import { createNamespace, fleet, pool, secret, SECRET_PASSWORD, type DeviceKind } from './fixtures.js';
import { eventually, testLogger } from './helpers.js';

type Any = any;

let cp: ControlPlane;
let rest: KubeRest;
let mgr: Manager;
let running: Promise<unknown>;
let fleetController: ReturnType<typeof setupMinerFleetController>;
const NS = 'fleets';
const G = '/apis/minefleet.io/v1alpha1';

const get = async (p: string): Promise<Any | undefined> => {
  try {
    return await rest.get<Any>(p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const fleetPath = (name: string, ns = NS) => `${G}/namespaces/${ns}/minerfleets/${name}`;
const dep = (name: string, ns = NS) => get(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
const cmap = (name: string, ns = NS) => get(`/api/v1/namespaces/${ns}/configmaps/${name}`);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const cond = (f: Any, type: string) => f?.status?.conditions?.find((c: Any) => c.type === type);
const runtimeOf = async (fleetName: string, ns = NS) => {
  const c = await cmap(`${fleetName}-runtime`, ns);
  return c ? (JSON.parse(c.data['runtime.json']) as { activePool: string; revision: number }) : undefined;
};
/** Reconciled: status written for the current generation. */
const reconciled = async (name: string, ns = NS) => {
  const f = await get(fleetPath(name, ns));
  return f && f.status?.observedGeneration === f.metadata.generation ? f : undefined;
};

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  // gpu fleets name a RuntimeClass; pods naming a missing one are rejected at admission.
  await rest.create('/apis/node.k8s.io/v1/runtimeclasses', {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name: 'nvidia' },
    handler: 'nvidia',
  });
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  await rest.create(`${G}/namespaces/${NS}/miningpools`, pool(NS, 'primary', 'creds', 3333));
  await rest.create(`${G}/namespaces/${NS}/miningpools`, pool(NS, 'backup', 'creds', 4444));
  mgr = new Manager({ kubeConfig: cp.kubeConfig, logger: testLogger(), probePort: 0, metricsPort: 0, bindHost: '127.0.0.1' });
  fleetController = setupMinerFleetController(mgr, { minerImage: 'minefleet:test', concurrency: 2, backoffMaxMs: 2000 }, testLogger());
  running = mgr.start();
}, 240_000);

afterAll(async () => {
  await mgr?.stop();
  await running?.catch(() => undefined);
  await cp?.stop();
});

describe('MinerFleet controller', () => {
  for (const kind of ['cpu', 'gpu', 'usb'] as DeviceKind[]) {
    it(`creates, updates, scales and deletes a ${kind} fleet`, async () => {
      const name = `${kind}-fleet`;
      await rest.create(
        `${G}/namespaces/${NS}/minerfleets`,
        fleet(
          NS,
          name,
          kind,
          [
            { name: 'primary', priority: 0 },
            { name: 'backup', priority: 10 },
          ],
          2,
        ),
      );
      const f = await eventually(() => reconciled(name), `${name} reconciled`);
      const uid = f.metadata.uid;

      const d = await eventually(() => dep(name), `${name} deployment`);
      expect(d.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'MinerFleet', name, uid, controller: true })]);
      expect(d.spec.replicas).toBe(2);
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      expect(c.image).toBe('minefleet:test');
      for (const [p, ownedKind] of [
        [`/api/v1/namespaces/${NS}/configmaps/${name}-config`, 'config'],
        [`/api/v1/namespaces/${NS}/configmaps/${name}-runtime`, 'runtime'],
        [`/api/v1/namespaces/${NS}/services/${name}-metrics`, 'service'],
      ] as const) {
        const o = await eventually(() => get(p), `${name} ${ownedKind}`);
        expect(o.metadata.ownerReferences[0].uid).toBe(uid);
      }
      const sas = (await rest.get<Any>(`/api/v1/namespaces/${NS}/serviceaccounts`)).items.filter((s: Any) => s.metadata.ownerReferences?.[0]?.uid === uid);
      expect(sas.length).toBe(1);
      expect(pod.serviceAccountName).toBe(sas[0].metadata.name);
      const roles = (await rest.get<Any>(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`)).items.filter(
        (s: Any) => s.metadata.ownerReferences?.[0]?.uid === uid,
      );
      expect(roles.length).toBe(1);
      // the miner may read only its own runtime ConfigMap
      expect(roles[0].rules).toEqual([expect.objectContaining({ resources: ['configmaps'], resourceNames: [`${name}-runtime`] })]);
      // credentials reach pods only as Secret references
      const env = c.env ?? [];
      expect(env.some((e: Any) => e.valueFrom?.secretKeyRef?.name === 'creds')).toBe(true);
      expect(JSON.stringify(d)).not.toContain(SECRET_PASSWORD);

      if (kind === 'cpu') {
        expect(pod.securityContext?.runAsNonRoot ?? c.securityContext?.runAsNonRoot).toBe(true);
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
      } else if (kind === 'gpu') {
        expect(c.resources.limits['nvidia.com/gpu']).toBe('2');
        expect(pod.runtimeClassName).toBe('nvidia');
      } else {
        const paths = (pod.volumes ?? []).map((v: Any) => v.hostPath?.path).filter(Boolean);
        expect(paths).toEqual(expect.arrayContaining(['/dev/ttyACM0', '/dev/ttyACM1']));
        expect(pod.volumes.filter((v: Any) => v.hostPath).every((v: Any) => v.hostPath.type === 'CharDevice')).toBe(true);
        expect(pod.nodeSelector).toEqual(expect.objectContaining({ 'minefleet.io/usb-asic': 'true' }));
        // opening a host tty needs the device cgroup (privileged), but never root or extra capabilities
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
        expect(c.securityContext.capabilities.add).toBeUndefined();
        expect(d.spec.strategy.type).toBe('Recreate');
      }

      const st = await eventually(async () => {
        const x = await reconciled(name);
        return x?.status?.replicas === 2 ? x : undefined;
      }, `${name} status.replicas from the Deployment`);
      expect(st.status.activePool).toBe('primary');
      expect(st.status.selector).toBeTruthy();
      expect(st.status.readyReplicas).toBe(0); // no kubelet: pods never become ready
      expect(cond(st, 'Ready')).toMatchObject({ status: 'False', reason: 'MinersNotReady', observedGeneration: st.metadata.generation });
      expect(cond(st, 'PoolAvailable')).toMatchObject({ status: 'True' });
      expect(cond(st, 'Degraded')).toMatchObject({ status: 'False' });
      expect(cond(st, 'Progressing')?.status).toBe('True');
      // the selector matches the pods the Deployment made
      const pods = await eventually(async () => {
        const l = await rest.get<Any>(`/api/v1/namespaces/${NS}/pods`, { labelSelector: st.status.selector });
        return l.items.length === 2 ? l.items : undefined;
      }, 'pods matching status.selector');
      expect(pods.length).toBe(2);

      // update: a spec change rolls into the Deployment's pod template, and a config change into
      // the config checksum (the annotation that makes the Deployment roll its pods)
      const checksumBefore = d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
      expect(checksumBefore).toBe(sha256((await cmap(`${name}-config`)).data['miner.yaml']));
      expect(c.imagePullPolicy).not.toBe('Never');
      await rest.mergePatch(fleetPath(name), {
        spec: {
          miner: {
            logLevel: 'debug',
            image: 'minefleet:rolled',
            imagePullPolicy: 'Never',
            resources: { requests: { memory: '200Mi' }, limits: { memory: '300Mi' } },
          },
        },
      });
      await eventually(async () => (await reconciled(name))?.metadata.generation === f.metadata.generation + 1, 'update reconciled');
      // status for the new generation is written after the apply: the Deployment holds it now
      const rolled = await dep(name);
      expect(rolled.metadata.generation).toBeGreaterThan(d.metadata.generation);
      const rc = rolled.spec.template.spec.containers[0];
      expect(rc.image).toBe('minefleet:rolled');
      expect(rc.imagePullPolicy).toBe('Never');
      expect(rc.resources.requests.memory).toBe('200Mi');
      expect(rc.resources.limits.memory).toBe('300Mi');
      if (kind === 'gpu') expect(rc.resources.limits['nvidia.com/gpu']).toBe('2');
      const cfgRolled = (await cmap(`${name}-config`)).data['miner.yaml'] as string;
      expect(cfgRolled).toMatch(/^logLevel: debug$/m);
      const checksumAfter = rolled.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
      expect(checksumAfter).not.toBe(checksumBefore);
      expect(checksumAfter).toBe(sha256(cfgRolled));
      // scale through the scale subresource (kubectl scale)
      const s = await cp.kubectl(['scale', '-n', NS, `minerfleet/${name}`, '--replicas=3']);
      expect(s.code, s.stderr).toBe(0);
      await eventually(async () => (await dep(name))?.spec.replicas === 3, 'deployment scaled to 3');
      const scale = await rest.get<Any>(`${fleetPath(name)}/scale`);
      expect(scale.spec.replicas).toBe(3);
      // status.replicas follows the Deployment's (a stuck rollout may surge above spec.replicas)
      await eventually(async () => {
        const [sc, dp] = [await rest.get<Any>(`${fleetPath(name)}/scale`), await dep(name)];
        return dp.status?.replicas >= 3 && sc.status.replicas === dp.status.replicas;
      }, 'scale status replicas follow the Deployment');

      // events describe what changed and never contain the password
      const events = await eventually(async () => {
        const l = await rest.get<Any>(`/api/v1/namespaces/${NS}/events`, { fieldSelector: `involvedObject.name=${name}` });
        return l.items.some((e: Any) => e.reason === 'Created') ? l.items : undefined;
      }, 'Created events');
      expect(JSON.stringify(events)).not.toContain(SECRET_PASSWORD);

      // delete: the garbage collector removes everything the fleet owned
      await rest.delete(fleetPath(name));
      await eventually(
        async () => !(await dep(name)) && !(await cmap(`${name}-config`)) && !(await cmap(`${name}-runtime`)),
        `${name} owned objects garbage-collected`,
        90_000,
      );
    });
  }

  it('publishes a pool priority change in the runtime ConfigMap and the miner config', async () => {
    const name = 'switcher';
    await rest.create(
      `${G}/namespaces/${NS}/minerfleets`,
      fleet(NS, name, 'cpu', [
        { name: 'primary', priority: 0 },
        { name: 'backup', priority: 10 },
      ]),
    );
    await eventually(() => reconciled(name), 'switcher reconciled');
    const before = await eventually(() => runtimeOf(name), 'runtime ConfigMap');
    expect(before.activePool).toBe('primary');
    const cfgBefore = (await cmap(`${name}-config`)).data;

    // backup becomes preferred
    await rest.request('PATCH', fleetPath(name), {
      body: [
        {
          op: 'replace',
          path: '/spec/pools',
          value: [
            { name: 'primary', priority: 20 },
            { name: 'backup', priority: 10 },
          ],
        },
      ],
      contentType: 'application/json-patch+json',
    });
    const after = await eventually(async () => {
      const r = await runtimeOf(name);
      return r?.activePool === 'backup' ? r : undefined;
    }, 'runtime ConfigMap switched to backup');
    expect(after.revision).toBeGreaterThan(before.revision);
    const f = await eventually(async () => {
      const x = await reconciled(name);
      return x?.status?.activePool === 'backup' ? x : undefined;
    }, 'status.activePool = backup');
    expect(f.status.lastPoolSwitchTime).toBeTruthy();
    const cfgAfter = (await cmap(`${name}-config`)).data;
    expect(JSON.stringify(cfgAfter)).not.toEqual(JSON.stringify(cfgBefore));
    await eventually(async () => {
      const l = await rest.get<Any>(`/api/v1/namespaces/${NS}/events`, { fieldSelector: `involvedObject.name=${name}` });
      return l.items.some((e: Any) => e.reason === 'ActivePoolChanged');
    }, 'ActivePoolChanged event');

    // a MiningPool change (not the fleet) re-renders the miner config: new URL appears
    await rest.mergePatch(`${G}/namespaces/${NS}/miningpools/backup`, { spec: { url: 'stratum+tcp://127.0.0.1:5555' } });
    await eventually(async () => JSON.stringify((await cmap(`${name}-config`))?.data).includes('127.0.0.1:5555'), 'config re-rendered after pool change');
  });

  it('repairs drift: an edited or deleted owned object is restored', async () => {
    const name = 'drifty';
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, name, 'cpu', [{ name: 'primary', priority: 0 }], 1));
    await eventually(() => reconciled(name), 'drifty reconciled');
    const d = await eventually(() => dep(name), 'deployment');

    // Idempotent: a steady fleet reconciled again and again costs no write. Settle first (the
    // controller-manager's Deployment status updates and our status writes die down: no write and
    // no reconcile of this fleet for 3 s), then force 5 reconciles through the controller's queue
    // and count writes at the API server and in the controller. A controller that applies on every
    // other reconcile (or every time) writes during these 5 and fails; one that never settles
    // fails the settling.
    const { controller, reconciler } = fleetController;
    const key = `${NS}/${name}`;
    const runs: string[] = [];
    const original = reconciler.reconcile.bind(reconciler);
    reconciler.reconcile = async (req, ctx) => {
      try {
        return await original(req, ctx);
      } finally {
        runs.push(`${req.namespace}/${req.name}`);
      }
    };
    try {
      const ours = () => runs.filter((k) => k === key).length;
      const writes = () => reconciler.stats.applies + reconciler.stats.statusWrites;
      let quiet = { at: Date.now(), runs: ours(), writes: writes() };
      await eventually(
        () => {
          if (ours() !== quiet.runs || writes() !== quiet.writes || controller.queue.length > 0) quiet = { at: Date.now(), runs: ours(), writes: writes() };
          return Date.now() - quiet.at >= 3000;
        },
        `${name} to settle (no reconcile, no write for 3 s)`,
        60_000,
        100,
      );
      const targets = [
        { resource: 'deployments', group: 'apps', subresource: '' },
        { resource: 'configmaps', subresource: '' },
        { resource: 'networkpolicies', group: 'networking.k8s.io', subresource: '' },
        { resource: 'minerfleets', group: 'minefleet.io', subresource: 'status' },
        { resource: 'services', subresource: '' },
        { resource: 'serviceaccounts', subresource: '' },
        { resource: 'roles', group: 'rbac.authorization.k8s.io', subresource: '' },
        { resource: 'rolebindings', group: 'rbac.authorization.k8s.io', subresource: '' },
      ];
      const serverBefore = await apiserverWriteCounts(cp, targets);
      const statsBefore = { ...reconciler.stats };
      const runsBefore = ours();
      for (let i = 1; i <= 5; i++) {
        controller.queue.add(key);
        await eventually(() => ours() >= runsBefore + i, `forced reconcile ${i} of ${name} ran`, 10_000, 10);
      }
      const serverAfter = await apiserverWriteCounts(cp, targets);
      expect(ours() - runsBefore).toBe(5);
      expect({ applies: reconciler.stats.applies - statsBefore.applies, statusWrites: reconciler.stats.statusWrites - statsBefore.statusWrites }).toEqual({
        applies: 0,
        statusWrites: 0,
      });
      const delta = Object.fromEntries(Object.entries(serverAfter).map(([k, v]) => [k, v - serverBefore[k]!]));
      expect(delta).toEqual(Object.fromEntries(Object.keys(serverBefore).map((k) => [k, 0])));
      console.log(`5 forced reconciles of a steady fleet: API server writes ${JSON.stringify(delta)}`);
    } finally {
      reconciler.reconcile = original;
    }

    const image = d.spec.template.spec.containers[0].image;
    await rest.mergePatch(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`, { spec: { replicas: 7 } });
    await eventually(async () => (await dep(name))?.spec.replicas === 1, 'replicas restored');
    await rest.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`, {
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'evil:latest' }],
      contentType: 'application/json-patch+json',
    });
    await eventually(async () => (await dep(name))?.spec.template.spec.containers[0].image === image, 'image restored');
    const runtimeBefore = await cmap(`${name}-runtime`);
    await rest.delete(`/api/v1/namespaces/${NS}/configmaps/${name}-runtime`);
    await rest.delete(`/api/v1/namespaces/${NS}/services/${name}-metrics`);
    await eventually(async () => {
      const c = await cmap(`${name}-runtime`);
      return c && c.metadata.uid !== runtimeBefore.metadata.uid && (await get(`/api/v1/namespaces/${NS}/services/${name}-metrics`));
    }, 'runtime ConfigMap and Service recreated');
  });

  it('owns a NetworkPolicy: created before the pods, drift repaired, deleted on opt-out and restored on opt-in', async () => {
    const name = 'fenced';
    const npPath = `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/${name}-miner`;
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, name, 'cpu', [{ name: 'primary', priority: 0 }], 1));
    const f = await eventually(() => reconciled(name), `${name} reconciled`);
    const np = await eventually(() => get(npPath), 'NetworkPolicy created');
    expect(np.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'MinerFleet', name, uid: f.metadata.uid, controller: true })]);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toHaveLength(1);
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 9100 }]);
    // the API server's own EndpointSlice address, and the pool 127.0.0.1:3333 as a /32
    // This control plane publishes no `kubernetes` EndpointSlice or Endpoints (no endpoint
    // reconciler, no mirroring): the policy falls back to the API server's usual ports at any address.
    expect(await get('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes')).toBeUndefined();
    expect(await get('/api/v1/namespaces/default/endpoints/kubernetes')).toBeUndefined();
    expect(np.spec.egress).toContainEqual({
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ],
    });
    expect(np.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '127.0.0.1/32' } }], ports: [{ protocol: 'TCP', port: 3333 }] });
    const created = await eventually(async () => {
      const l = await rest.get<Any>(`/api/v1/namespaces/${NS}/events`, { fieldSelector: `involvedObject.name=${name}` });
      return l.items.find((e: Any) => e.reason === 'Created');
    }, 'Created event');
    expect(created.message).toContain(`NetworkPolicy ${name}-miner`);

    // drift: an ingress rule that opens every port to everyone is removed
    await rest.mergePatch(npPath, { spec: { ingress: [...np.spec.ingress, {}] } });
    await eventually(async () => (await get(npPath))?.spec.ingress.length === 1, 'widened ingress repaired');
    await rest.delete(npPath);
    await eventually(async () => (await get(npPath))?.metadata.uid !== np.metadata.uid && (await get(npPath)), 'deleted NetworkPolicy recreated');

    // opt-out deletes it (and the fleet keeps running), opt-in brings it back
    await rest.mergePatch(fleetPath(name), { spec: { networkPolicy: { enabled: false } } });
    await eventually(async () => !(await get(npPath)), 'NetworkPolicy deleted on opt-out');
    const deletedEvent = await eventually(async () => {
      const l = await rest.get<Any>(`/api/v1/namespaces/${NS}/events`, { fieldSelector: `involvedObject.name=${name}` });
      return l.items.find((e: Any) => e.reason === 'Deleted');
    }, 'Deleted event');
    expect(deletedEvent.message).toContain(`NetworkPolicy ${name}-miner`);
    expect(await dep(name)).toBeDefined();
    await rest.mergePatch(fleetPath(name), { spec: { networkPolicy: { enabled: true } } });
    await eventually(() => get(npPath), 'NetworkPolicy restored on opt-in');
    await rest.delete(fleetPath(name));
  });

  it('reports a missing pool, then a missing Secret, and recovers when they are created', async () => {
    const name = 'waiting';
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, name, 'cpu', [{ name: 'late-pool', priority: 0 }]));
    const f1 = await eventually(async () => {
      const f = await reconciled(name);
      return cond(f, 'PoolAvailable')?.reason === 'PoolNotFound' ? f : undefined;
    }, 'PoolNotFound condition');
    expect(cond(f1, 'PoolAvailable')).toMatchObject({ status: 'False' });
    expect(cond(f1, 'PoolAvailable').message).toContain('MiningPool "late-pool" not found');
    expect(cond(f1, 'Ready')?.status).toBe('False');
    expect(cond(f1, 'Degraded')?.status).toBe('True');
    expect(await dep(name)).toBeUndefined();
    const t0 = cond(f1, 'PoolAvailable').lastTransitionTime;

    await rest.create(`${G}/namespaces/${NS}/miningpools`, pool(NS, 'late-pool', 'late-creds'));
    const f2 = await eventually(async () => {
      const f = await get(fleetPath(name));
      return cond(f, 'PoolAvailable')?.reason === 'SecretNotFound' ? f : undefined;
    }, 'SecretNotFound condition');
    expect(cond(f2, 'PoolAvailable').message).toContain('Secret "late-creds"');
    // still False: the transition time stays
    expect(cond(f2, 'PoolAvailable').lastTransitionTime).toBe(t0);

    await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'late-creds'));
    const f3 = await eventually(async () => {
      const f = await get(fleetPath(name));
      return cond(f, 'PoolAvailable')?.status === 'True' ? f : undefined;
    }, 'PoolAvailable True after recovery');
    expect(f3.status.activePool).toBe('late-pool');
    expect(cond(f3, 'Degraded')?.status).toBe('False');
    await eventually(() => dep(name), 'deployment created after recovery');
    const events = await rest.get<Any>(`/api/v1/namespaces/${NS}/events`, { fieldSelector: `involvedObject.name=${name}` });
    expect(events.items.map((e: Any) => e.reason)).toEqual(expect.arrayContaining(['PoolNotFound', 'SecretNotFound']));
    expect(JSON.stringify(events)).not.toContain(SECRET_PASSWORD);
  });

  it('keeps reconciling after the API server restarts mid-watch', async () => {
    const name = 'survivor';
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, name, 'cpu', [{ name: 'primary', priority: 0 }], 1));
    await eventually(() => reconciled(name), 'survivor reconciled');
    await cp.restartApiServer();
    await eventually(() => rest.mergePatch(fleetPath(name), { spec: { replicas: 4 } }).then(() => true), 'patch after restart', 60_000);
    await eventually(async () => (await dep(name))?.spec.replicas === 4, 'deployment follows after restart', 90_000);
    await rest.delete(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
    await eventually(async () => (await dep(name))?.spec.replicas === 4, 'deleted deployment restored after restart', 90_000);
  });

  it('exposes controller-runtime metrics and health endpoints', async () => {
    const base = `http://127.0.0.1:${mgr.health.ports.metrics}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const m of [
      'controller_runtime_reconcile_total{controller="minerfleet",result="success"}',
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'workqueue_retries_total',
    ])
      expect(text).toContain(m);
    const probe = `http://127.0.0.1:${mgr.health.ports.probe}`;
    expect((await fetch(`${probe}/healthz`)).status).toBe(200);
    expect((await fetch(`${probe}/readyz`)).status).toBe(200);
    expect((await fetch(`${probe}/nope`)).status).toBe(404);
  });

  it('network fleet: a supervisor Deployment with the targets; pausing disables the devices instead of scaling away', async () => {
    const name = 'asic-rack';
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MinerFleet',
      metadata: { name, namespace: NS },
      spec: {
        device: {
          kind: 'network',
          network: {
            targets: [
              { name: 'l3-a', host: '10.0.0.5', model: 'antminer-l3plus' },
              { name: 'l3-b', host: '10.0.0.6' },
            ],
          },
        },
        miner: { backend: 'network' },
        pools: [
          { name: 'primary', priority: 0 },
          { name: 'backup', priority: 10 },
        ],
      },
    });
    const f = await eventually(() => reconciled(name), `${name} reconciled`);
    expect(f.status.devices).toBe(2);
    const d = await eventually(() => dep(name), `${name} deployment`);
    const pod = d.spec.template.spec;
    expect(pod.containers.map((c: Any) => c.name)).toEqual(['supervisor']);
    expect(pod.containers[0].command).toEqual(['node', 'dist/miner/src/main.js', 'supervise', '--config', '/etc/minefleet/miner.yaml']);
    expect(d.spec.strategy.type).toBe('Recreate');
    expect(JSON.stringify(d)).not.toContain(SECRET_PASSWORD);
    const cfg = (await cmap(`${name}-config`)).data['miner.yaml'] as string;
    expect(cfg).toContain('host: 10.0.0.5');
    expect(cfg).toContain('model: antminer-l3plus');
    const before = await eventually(() => runtimeOf(name), 'runtime ConfigMap');
    expect((before as Any).suspended).toBeUndefined();

    await rest.mergePatch(fleetPath(name), { spec: { paused: true } });
    const after = await eventually(async () => {
      const r = (await runtimeOf(name)) as Any;
      return r?.suspended === true ? r : undefined;
    }, 'runtime ConfigMap says suspended');
    expect(after.revision).toBe(before.revision + 1);
    expect((await dep(name)).spec.replicas).toBe(1);
    const paused = await eventually(async () => {
      const x = await reconciled(name);
      return cond(x, 'Ready')?.reason === 'Paused' ? x : undefined;
    }, 'Ready=False Paused');
    expect(cond(paused, 'Ready').message).toContain('disables every device');
    await rest.mergePatch(fleetPath(name), { spec: { paused: false } });
    const resumed = await eventually(async () => {
      const r = (await runtimeOf(name)) as Any;
      return r && r.suspended === undefined && r.revision === after.revision + 1 ? r : undefined;
    }, 'runtime ConfigMap resumed');
    expect(resumed.activePool).toBe('primary');
  });

  it('network fleet with targetsFrom and targetsPerPod: ConfigMap targets rendered, ceil(N/k) supervisors with disjoint devices, edits followed, bad lists reported while the last good one runs', async () => {
    const name = 'asic-farm';
    const cmPath = `/api/v1/namespaces/${NS}/configmaps`;
    const targets = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `asic-${i}`, host: `10.9.0.${10 + i}`, port: 4028 }));
    const yamlList = (ts: Array<Record<string, unknown>>) => ts.map((t) => `- ${JSON.stringify(t)}`).join('\n');
    const podsOf = async () =>
      ((await rest.get<Any>(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`minefleet.io/fleet=${name}`)}`)).items as Any[])
        .filter((p) => !p.metadata.deletionTimestamp)
        .map((p) => p.metadata.name as string)
        .sort();
    const rendered = async () => {
      const c = await cmap(`${name}-config`);
      return c ? (parseYaml(c.data['miner.yaml']).external.devices as Any[]).map((d) => d.name as string) : undefined;
    };
    /**
     * The published assignment once the Deployment's rollout is over (every live pod from its
     * current template) and it names exactly those pods and covers `n` targets, k per pod at most.
     * The rollout matters: a Deployment edited in replicas and template at once is first a scaling
     * event, so the old ReplicaSet grows to the new count for a moment and the assignment follows
     * those pods, before Recreate replaces them all.
     */
    const sharded = (n: number, k: number) =>
      eventually(
        async () => {
          const [r, pods, d] = [(await runtimeOf(name)) as Any, await podsOf(), await dep(name)];
          const a = r?.deviceAssignments as Record<string, string[]> | undefined;
          const rolledOut =
            d && d.status?.observedGeneration === d.metadata.generation && d.status?.updatedReplicas === pods.length && d.status?.replicas === pods.length;
          if (!a || !rolledOut || pods.length !== Math.ceil(n / k) || JSON.stringify(Object.keys(a).sort()) !== JSON.stringify(pods)) return undefined;
          const all = Object.values(a).flat();
          return all.length === n ? { a, all, pods } : undefined;
        },
        `${Math.ceil(n / k)} supervisor pods sharing ${n} devices`,
        90_000,
      );

    // The fleet comes first: its ConfigMap is missing, so nothing runs and the condition says why.
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MinerFleet',
      metadata: { name, namespace: NS },
      spec: {
        device: { kind: 'network', network: { targetsFrom: { configMapRef: { name: 'farm-targets' } }, targetsPerPod: 3 } },
        miner: { backend: 'network' },
        pools: [{ name: 'primary', priority: 0 }],
      },
    });
    const waiting = await eventually(async () => {
      const f = await reconciled(name);
      return cond(f, 'DeviceTargetsResolved')?.reason === 'MissingConfigMap' ? f : undefined;
    }, 'DeviceTargetsResolved=False MissingConfigMap');
    expect(cond(waiting, 'DeviceTargetsResolved')).toMatchObject({
      status: 'False',
      message: `ConfigMap "farm-targets" (spec.device.network.targetsFrom) not found in namespace "${NS}"; no supervisor is started until it is fixed`,
    });
    expect(cond(waiting, 'Degraded')).toMatchObject({ status: 'True', reason: 'MissingConfigMap' });
    expect(await dep(name)).toBeUndefined();

    // The ConfigMap appears (the watch brings the fleet back): 5 targets, 3 per pod -> 2 pods.
    await rest.create(cmPath, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'farm-targets', namespace: NS },
      data: { 'targets.yaml': yamlList(targets(5)) },
    });
    expect(await eventually(async () => ((await rendered())?.length === 5 ? rendered() : undefined), 'config with the 5 ConfigMap targets')).toEqual(
      targets(5).map((t) => t.name),
    );
    expect((await eventually(() => dep(name), `${name} deployment`)).spec.replicas).toBe(2);
    const two = await sharded(5, 3);
    expect(new Set(two.all).size).toBe(5); // disjoint and complete
    expect(
      Object.values(two.a)
        .map((l) => l.length)
        .sort(),
    ).toEqual([2, 3]);
    const ok = await eventually(async () => {
      const f = await reconciled(name);
      return cond(f, 'DeviceTargetsResolved')?.status === 'True' && f.status.devices === 5 ? f : undefined;
    }, 'DeviceTargetsResolved=True, 5 devices');
    expect(cond(ok, 'DeviceTargetsResolved').message).toBe('5 targets from ConfigMap "farm-targets" key "targets.yaml" (spec.device.network.targetsFrom)');
    expect(cond(ok, 'Degraded')?.status).toBe('False');

    // An edit of the ConfigMap re-renders: 7 targets -> 3 pods, again disjoint and complete.
    await rest.mergePatch(`${cmPath}/farm-targets`, { data: { 'targets.yaml': yamlList(targets(7)) } });
    expect(await eventually(async () => ((await rendered())?.length === 7 ? rendered() : undefined), 'config with 7 targets')).toEqual(
      targets(7).map((t) => t.name),
    );
    const three = await sharded(7, 3);
    expect(new Set(three.all).size).toBe(7);
    for (const list of Object.values(three.a)) expect(list.length).toBeLessThanOrEqual(3);
    expect((await dep(name)).spec.replicas).toBe(3);

    // A bad edit (a repeated name) is reported, naming the ConfigMap, the key and the entry; the
    // rendered config, the Deployment and the assignment stay as they were.
    const goodConfig = (await cmap(`${name}-config`)).data['miner.yaml'];
    const goodTemplate = JSON.stringify((await dep(name)).spec.template);
    const dupList = [...targets(7), { name: 'asic-1', host: '10.9.0.99' }];
    await rest.mergePatch(`${cmPath}/farm-targets`, { data: { 'targets.yaml': yamlList(dupList) } });
    const bad = await eventually(async () => {
      const f = await get(fleetPath(name));
      return cond(f, 'DeviceTargetsResolved')?.reason === 'InvalidDeviceTargets' ? f : undefined;
    }, 'DeviceTargetsResolved=False InvalidDeviceTargets');
    expect(cond(bad, 'DeviceTargetsResolved').message).toBe(
      `ConfigMap "farm-targets" key "targets.yaml" (spec.device.network.targetsFrom) in namespace "${NS}" is invalid: [7].name: Duplicate value: targets[*].name "asic-1" repeats; the supervisors keep the last good list (7 targets)`,
    );
    expect(cond(bad, 'Degraded')).toMatchObject({ status: 'True', reason: 'InvalidDeviceTargets' });
    expect(bad.status.devices).toBe(7);
    expect((await cmap(`${name}-config`)).data['miner.yaml']).toBe(goodConfig);
    expect((await dep(name)).spec.replicas).toBe(3);
    expect(JSON.stringify((await dep(name)).spec.template)).toBe(goodTemplate);
    expect(((await runtimeOf(name)) as Any).deviceAssignments, `pods now: ${(await podsOf()).join(', ')}`).toEqual(three.a);

    // The ConfigMap deleted: reported too, and still nothing torn down.
    await rest.delete(`${cmPath}/farm-targets`);
    await eventually(async () => cond(await get(fleetPath(name)), 'DeviceTargetsResolved')?.reason === 'MissingConfigMap', 'MissingConfigMap after delete');
    expect((await cmap(`${name}-config`)).data['miner.yaml']).toBe(goodConfig);
    expect((await dep(name)).spec.replicas).toBe(3);

    // Fixed again with 4 targets, and targetsPerPod raised to 4: one supervisor, no map (it drives all).
    await rest.create(cmPath, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'farm-targets', namespace: NS },
      data: { 'targets.yaml': yamlList(targets(4)) },
    });
    await rest.mergePatch(fleetPath(name), { spec: { device: { network: { targetsPerPod: 4 } } } });
    await eventually(
      async () => {
        const [r, pods, d] = [(await runtimeOf(name)) as Any, await podsOf(), await dep(name)];
        return d?.spec.replicas === 1 && pods.length === 1 && r && r.deviceAssignments === undefined;
      },
      'one supervisor pod for 4 targets, driving all (no map)',
      90_000,
    );
    expect(await rendered()).toEqual(targets(4).map((t) => t.name));
    const single = await eventually(async () => {
      const f = await reconciled(name);
      return cond(f, 'DeviceTargetsResolved')?.status === 'True' && f.status.devices === 4 ? f : undefined;
    }, 'resolved again, 4 devices');
    expect(cond(single, 'Degraded')?.status).toBe('False');

    // spec.replicas 0 switches every supervisor off.
    await rest.mergePatch(fleetPath(name), { spec: { replicas: 0 } });
    await eventually(async () => (await dep(name))?.spec.replicas === 0, 'no supervisor pods with replicas 0');
  });

  it('usb fleet with spec.miner.external: the external miner gets the device, the supervisor sidecar the credentials', async () => {
    const name = 'usb-external';
    const obj = fleet(NS, name, 'usb', [{ name: 'primary', priority: 0 }], 1) as Any;
    obj.spec.miner.external = { image: 'example/bfgminer:5.5', args: ['--api-listen'], apiPort: 4111 };
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, obj);
    const d = await eventually(() => dep(name), `${name} deployment`);
    const [miner, sup] = d.spec.template.spec.containers;
    expect([miner.name, sup.name]).toEqual(['miner', 'supervisor']);
    expect(miner.image).toBe('example/bfgminer:5.5');
    expect(miner.env).toBeUndefined();
    expect(miner.volumeMounts.map((m: Any) => m.mountPath)).toEqual(expect.arrayContaining(['/dev/ttyACM0', '/dev/ttyACM1']));
    expect(sup.image).toBe('minefleet:test');
    expect(sup.securityContext.privileged).toBe(false);
    expect(sup.env.some((e: Any) => e.valueFrom?.secretKeyRef?.name === 'creds')).toBe(true);
    expect((await cmap(`${name}-config`)).data['miner.yaml']).toContain('port: 4111');
    const st = await eventually(async () => {
      const x = await reconciled(name);
      return x?.status?.devices === 1 ? x : undefined;
    }, 'status.devices = 1 pod');
    expect(st.status.devices).toBe(1);
  });
});
