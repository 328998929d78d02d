import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { MinerConfigSchema } from '../../miner/src/config/schema.js';
import { parseRuntimeState } from '../../miner/src/config/runtime.js';
import { loadConfigText, resolveCredentials } from '../../miner/src/config/load.js';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  desiredFleetObjects,
  desiredReplicas,
  fleetLabels,
  fleetSelector,
  missingReferences,
  usablePools,
  type DesiredFleetObjects,
} from '../../operator/src/controllers/minerfleet/desired/index.js';
import { secretsCacheTransform } from '../../operator/src/controllers/minerfleet/secrets.js';
import { fleet, FLEET_UID, inputs, NS, pool } from './fixtures.js';

const minerYaml = (d: DesiredFleetObjects) => d.configMap.data!['miner.yaml']!;
const checksum = (d: DesiredFleetObjects) => d.deployment.spec!.template.metadata!.annotations![CONFIG_CHECKSUM_ANNOTATION];
const container = (d: DesiredFleetObjects) => d.deployment.spec!.template.spec!.containers[0]!;
const all = (d: DesiredFleetObjects) =>
  Object.values(d) as Array<{ metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: unknown[] } }>;

const twoPools = () => [pool('backup', { url: 'stratum+tcp://backup.pool.example:4444' }), pool('primary')];
const twoPoolFleet = () =>
  fleet({
    pools: [
      { name: 'backup', priority: 20 },
      { name: 'primary', priority: 10 },
    ],
  });

describe('desiredFleetObjects: every owned object', () => {
  it('is in the fleet namespace, carries the four fleet labels and a controller owner reference', () => {
    const d = desiredFleetObjects(inputs(fleet(), [pool('primary')]));
    expect(Object.keys(d).sort()).toEqual(['configMap', 'deployment', 'networkPolicy', 'role', 'roleBinding', 'runtimeConfigMap', 'service', 'serviceAccount']);
    for (const o of all(d)) {
      expect(o.metadata?.namespace).toBe(NS);
      expect(o.metadata?.labels).toEqual({
        'app.kubernetes.io/name': 'minefleet-miner',
        'app.kubernetes.io/instance': 'rig',
        'app.kubernetes.io/managed-by': 'minefleet',
        'minefleet.io/fleet': 'rig',
      });
      expect(o.metadata?.ownerReferences).toEqual([
        { apiVersion: 'minefleet.io/v1alpha1', kind: 'MinerFleet', name: 'rig', uid: FLEET_UID, controller: true, blockOwnerDeletion: true },
      ]);
    }
    expect(d.configMap.metadata!.name).toBe('rig-config');
    expect(d.runtimeConfigMap.metadata!.name).toBe('rig-runtime');
    expect(d.service.metadata!.name).toBe('rig-metrics');
    expect(d.deployment.metadata!.name).toBe('rig');
  });

  it('is deterministic: the same input gives byte-identical objects, whatever the pool order', () => {
    const a = JSON.stringify(desiredFleetObjects(inputs(twoPoolFleet(), twoPools(), 'primary')));
    const b = JSON.stringify(desiredFleetObjects(inputs(twoPoolFleet(), twoPools().reverse(), 'primary')));
    expect(b).toBe(a);
    // and the result does not alias its input: mutating one output leaves the next untouched
    const d = desiredFleetObjects(inputs(twoPoolFleet(), twoPools(), 'primary'));
    d.deployment.spec!.template.spec!.containers[0]!.env!.length = 0;
    expect(JSON.stringify(desiredFleetObjects(inputs(twoPoolFleet(), twoPools(), 'primary')))).toBe(a);
  });

  it('is pure: deep-frozen inputs render (nothing is mutated)', () => {
    const deepFreeze = <T>(o: T): T => {
      if (o && typeof o === 'object') {
        for (const v of Object.values(o)) deepFreeze(v);
        Object.freeze(o);
      }
      return o;
    };
    const f = fleet({
      device: { kind: 'usb', hostDevices: ['/dev/ttyACM0'] },
      miner: { backend: 'usb', resources: { limits: { memory: '1Gi' } } },
      pools: [
        { name: 'backup', priority: 20 },
        { name: 'primary', priority: 10 },
      ],
      placement: {
        nodeSelector: { b: '1', a: '2' },
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } },
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    });
    const tls = pool('backup', { url: 'stratum+ssl://b.example:3443', tls: { caSecretRef: { name: 'ca' }, serverName: 'b.example' } });
    const frozen = deepFreeze(inputs(f, [tls, pool('primary')], 'backup'));
    const before = JSON.stringify(frozen);
    expect(() => desiredFleetObjects(frozen)).not.toThrow();
    expect(JSON.stringify(frozen)).toBe(before);
  });

  it('refuses inputs it cannot render, naming the fleet and the problem', () => {
    expect(() => desiredFleetObjects(inputs(fleet(), [pool('primary')], 'elsewhere'))).toThrow(
      /active pool "elsewhere" of MinerFleet farm\/rig is not one of its existing pools \(primary\)/,
    );
    expect(() => desiredFleetObjects({ ...inputs(fleet(), [pool('primary')]), pools: [pool('unrelated')] })).toThrow(
      /MinerFleet farm\/rig has none of its pools \(primary\)/,
    );
    const noUid = fleet();
    delete noUid.metadata.uid;
    expect(() => desiredFleetObjects(inputs(noUid, [pool('primary')]))).toThrow(/has no metadata.uid/);
  });
});

describe('miner config (ConfigMap <fleet>-config, key miner.yaml)', () => {
  it('validates with the miner schema and lists pools in failover order (priority ascending)', () => {
    const f = fleet({
      pools: [
        { name: 'c', priority: 30 },
        { name: 'a', priority: 10 },
        { name: 'b', priority: 20 },
        { name: 'missing', priority: 0 },
      ],
    });
    const d = desiredFleetObjects(inputs(f, [pool('b'), pool('c'), pool('a')], 'b'));
    const cfg = MinerConfigSchema.parse(parseYaml(minerYaml(d)));
    expect(cfg.pools.map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(cfg.pools.map((p) => p.url)).toEqual([
      'stratum+tcp://a.pool.example:3333',
      'stratum+tcp://b.pool.example:3333',
      'stratum+tcp://c.pool.example:3333',
    ]);
    // the static file names the preferred pool; the controller's choice travels on the live channel
    expect(cfg.activePool).toBe('a');
    expect(parseRuntimeState(d.runtimeConfigMap.data!['runtime.json']!)).toEqual({ activePool: 'b', revision: 0 });
    expect(cfg.runtime).toEqual({ kubernetes: { namespace: NS, configMapName: 'rig-runtime', key: 'runtime.json' } });
    expect(cfg.fleet).toBe('rig');
    expect(cfg.namespace).toBe(NS);
    expect(cfg.metrics).toEqual({ host: '0.0.0.0', port: 9100, shareHistory: 10_000 });
    expect(cfg.logLevel).toBe('info');
    expect(cfg.backend).toEqual({ kind: 'cpu', threads: 1 });
  });

  it('wires each pool login as env vars filled from the pool Secret, in the same order', () => {
    const pools = [
      pool('primary', { credentialsSecretRef: { name: 'ltc-login', userKey: 'wallet', passwordKey: 'secret' }, workerNameTemplate: '{{namespace}}-{{pod}}' }),
      pool('backup'),
    ];
    const d = desiredFleetObjects(inputs(twoPoolFleet(), pools, 'primary'));
    const cfg = MinerConfigSchema.parse(parseYaml(minerYaml(d)));
    const env = container(d).env!;
    expect(env.slice(0, 3)).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'MINEFLEET_FLEET', value: 'rig' },
    ]);
    const byName = new Map(env.map((e) => [e.name, e]));
    const [first, second] = cfg.pools;
    expect(first).toMatchObject({ name: 'primary', workerNameTemplate: '{{namespace}}-{{pod}}' });
    expect(second).toMatchObject({ name: 'backup', workerNameTemplate: '{{fleet}}.{{pod}}' });
    expect(byName.get(first!.userEnv)?.valueFrom?.secretKeyRef).toEqual({ name: 'ltc-login', key: 'wallet' });
    expect(byName.get(first!.passwordEnv!)?.valueFrom?.secretKeyRef).toEqual({ name: 'ltc-login', key: 'secret' });
    expect(byName.get(second!.userEnv)?.valueFrom?.secretKeyRef).toEqual({ name: 'backup-login', key: 'username' });
    expect(byName.get(second!.passwordEnv!)?.valueFrom?.secretKeyRef).toEqual({ name: 'backup-login', key: 'password' });
    // Every credential env var is a Secret reference, never a value.
    for (const e of env.filter((x) => x.name.startsWith('MINEFLEET_POOL_'))) expect(e.value).toBeUndefined();

    // The miner, given the env the kubelet would build from those references, logs in as expected.
    const podEnv = { MINEFLEET_FLEET: 'rig', POD_NAMESPACE: NS, POD_NAME: 'rig-abc-123', [first!.userEnv]: 'Lwallet', [first!.passwordEnv!]: 'pw' };
    const loaded = loadConfigText(minerYaml(d), podEnv, 'miner.yaml');
    expect(resolveCredentials(loaded, loaded.pools[0]!, podEnv)).toEqual({ login: `Lwallet.${NS}-rig-abc-123`, password: 'pw' });
  });

  it('mounts a TLS pool CA from its Secret and points tls.caFile at it, with the serverName', () => {
    const pools = [
      pool('primary'),
      pool('secure', {
        url: 'stratum+ssl://secure.pool.example:3443',
        tls: { caSecretRef: { name: 'pool-ca', key: 'bundle.pem' }, serverName: 'stratum.pool.example' },
      }),
      pool('systemtrust', { url: 'stratum+ssl://trust.pool.example:3443' }),
    ];
    const f = fleet({
      pools: [
        { name: 'primary', priority: 1 },
        { name: 'secure', priority: 2 },
        { name: 'systemtrust', priority: 3 },
      ],
    });
    const d = desiredFleetObjects(inputs(f, pools));
    const cfg = MinerConfigSchema.parse(parseYaml(minerYaml(d)));
    const secure = cfg.pools.find((p) => p.name === 'secure')!;
    expect(secure.url).toBe('stratum+ssl://secure.pool.example:3443');
    expect(secure.tls?.serverName).toBe('stratum.pool.example');
    const caFile = secure.tls!.caFile!;
    // TLS by scheme alone (system trust store): no CA volume, no tls block needed
    expect(cfg.pools.find((p) => p.name === 'systemtrust')!.tls).toBeUndefined();
    expect(cfg.pools.find((p) => p.name === 'primary')!.tls).toBeUndefined();

    const pod = d.deployment.spec!.template.spec!;
    const mount = container(d).volumeMounts!.find((m) => caFile.startsWith(`${m.mountPath}/`))!;
    expect(mount.readOnly).toBe(true);
    const vol = pod.volumes!.find((v) => v.name === mount.name)!;
    expect(vol.secret).toEqual({ secretName: 'pool-ca', items: [{ key: 'bundle.pem', path: caFile.slice(mount.mountPath.length + 1) }] });
    // Not nested inside the config volume (a mount point inside a read-only ConfigMap volume).
    expect(mount.mountPath.startsWith('/etc/minefleet/')).toBe(false);
    expect(pod.volumes!.filter((v) => v.secret)).toHaveLength(1);
  });

  it('carries backend, metrics port and log level from the fleet and operator', () => {
    const f = fleet({ miner: { backend: 'cpu', threads: 3, logLevel: 'debug' } });
    const d = desiredFleetObjects({ ...inputs(f, [pool('primary')]), operator: { minerImage: 'img', metricsPort: 9200 } });
    const cfg = MinerConfigSchema.parse(parseYaml(minerYaml(d)));
    expect(cfg.backend).toEqual({ kind: 'cpu', threads: 3 });
    expect(cfg.logLevel).toBe('debug');
    expect(cfg.metrics.port).toBe(9200);
    expect(container(d).ports).toEqual([{ name: 'metrics', containerPort: 9200, protocol: 'TCP' }]);
    expect(d.service.spec!.ports).toEqual([{ name: 'metrics', port: 9200, targetPort: 'metrics', protocol: 'TCP' }]);
  });
});

describe('config checksum', () => {
  it('is the sha256 of the rendered miner.yaml', () => {
    const d = desiredFleetObjects(inputs(fleet(), [pool('primary')]));
    expect(checksum(d)).toBe(createHash('sha256').update(minerYaml(d)).digest('hex'));
  });

  it('changes with the config (pool URL, pool set, log level) but not with the active pool or its revision', () => {
    const base = desiredFleetObjects(inputs(twoPoolFleet(), twoPools(), 'primary'));
    const switched = desiredFleetObjects(inputs(twoPoolFleet(), twoPools(), 'backup', { runtimeRevision: 7 }));
    expect(checksum(switched)).toBe(checksum(base));
    expect(switched.configMap).toEqual(base.configMap);
    expect(switched.deployment).toEqual(base.deployment);
    expect(switched.runtimeConfigMap.data).toEqual({ 'runtime.json': '{"activePool":"backup","revision":7}' });

    const moved = desiredFleetObjects(inputs(twoPoolFleet(), [pool('backup', { url: 'stratum+tcp://new-backup.example:4444' }), pool('primary')], 'primary'));
    expect(checksum(moved)).not.toBe(checksum(base));
    const onePool = desiredFleetObjects(inputs(twoPoolFleet(), [pool('primary')], 'primary'));
    expect(checksum(onePool)).not.toBe(checksum(base));
    const debug = desiredFleetObjects(inputs(fleet({ ...twoPoolFleet().spec, miner: { logLevel: 'debug' } }), twoPools(), 'primary'));
    expect(checksum(debug)).not.toBe(checksum(base));
  });

  it('does not change with replicas, pause or suspension (scaling is not a rollout)', () => {
    const base = checksum(desiredFleetObjects(inputs(fleet({ replicas: 2 }), [pool('primary')])));
    expect(checksum(desiredFleetObjects(inputs(fleet({ replicas: 9 }), [pool('primary')])))).toBe(base);
    expect(checksum(desiredFleetObjects(inputs(fleet({ replicas: 2, paused: true }), [pool('primary')])))).toBe(base);
    expect(checksum(desiredFleetObjects(inputs(fleet({ replicas: 2 }), [pool('primary')], 'primary', { suspended: true })))).toBe(base);
  });
});

describe('replicas', () => {
  it('follows spec.replicas, and is 0 while paused or suspended (spec.replicas is kept)', () => {
    const rep = (d: DesiredFleetObjects) => d.deployment.spec!.replicas;
    expect(rep(desiredFleetObjects(inputs(fleet({ replicas: 4 }), [pool('primary')])))).toBe(4);
    expect(rep(desiredFleetObjects(inputs(fleet({ replicas: 4, paused: true }), [pool('primary')])))).toBe(0);
    expect(rep(desiredFleetObjects(inputs(fleet({ replicas: 4 }), [pool('primary')], 'primary', { suspended: true })))).toBe(0);
    const suspendedStatus = fleet({ replicas: 4 }, 'rig', { status: { suspended: true } });
    expect(rep(desiredFleetObjects(inputs(suspendedStatus, [pool('primary')])))).toBe(0);
    // an explicit flag wins over the status (the economics controller decides before writing status)
    expect(rep(desiredFleetObjects(inputs(suspendedStatus, [pool('primary')], 'primary', { suspended: false })))).toBe(4);
    expect(desiredReplicas(fleet({ replicas: 0 }))).toBe(0);
  });
});

describe('Deployment', () => {
  it('runs the miner with its config, identity, probes and ServiceAccount', () => {
    const d = desiredFleetObjects(
      inputs(
        fleet({
          placement: {
            priorityClassName: 'mining',
            nodeSelector: { zb: '1', za: '2' },
            tolerations: [{ key: 'rig', operator: 'Exists', effect: 'NoSchedule' }],
          },
        }),
        [pool('primary')],
      ),
    );
    const spec = d.deployment.spec!;
    expect(spec.selector).toEqual({ matchLabels: fleetLabels(fleet()) });
    // pods carry the selector labels (else the Deployment is rejected)
    expect(spec.template.metadata!.labels).toMatchObject(spec.selector.matchLabels!);
    const pod = spec.template.spec!;
    expect(pod.serviceAccountName).toBe(d.serviceAccount.metadata!.name);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.priorityClassName).toBe('mining');
    expect(pod.nodeSelector).toEqual({ za: '2', zb: '1' });
    expect(pod.tolerations).toEqual([{ key: 'rig', operator: 'Exists', effect: 'NoSchedule' }]);
    const c = container(d);
    expect(c.name).toBe('miner');
    expect(c.image).toBe('ghcr.io/example/minefleet:1.2.3');
    expect(c.imagePullPolicy).toBeUndefined();
    expect(c.command).toEqual(['node', 'dist/miner/src/main.js', 'run', '--config', '/etc/minefleet/miner.yaml']);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    const cfgMount = c.volumeMounts!.find((m) => m.mountPath === '/etc/minefleet')!;
    expect(pod.volumes!.find((v) => v.name === cfgMount.name)?.configMap).toEqual({ name: 'rig-config', items: [{ key: 'miner.yaml', path: 'miner.yaml' }] });
  });

  it('takes image and pull policy from spec.miner over the operator defaults', () => {
    const d = desiredFleetObjects({
      ...inputs(fleet({ miner: { image: 'my/miner:dev', imagePullPolicy: 'Never' } }), [pool('primary')]),
      operator: { minerImage: 'x', imagePullPolicy: 'Always' },
    });
    expect(container(d).image).toBe('my/miner:dev');
    expect(container(d).imagePullPolicy).toBe('Never');
    const e = desiredFleetObjects({ ...inputs(fleet(), [pool('primary')]), operator: { minerImage: 'x', imagePullPolicy: 'Always' } });
    expect(container(e).imagePullPolicy).toBe('Always');
  });
});

describe('RBAC and Service', () => {
  it('lets the miner read and watch only its runtime ConfigMap', () => {
    const d = desiredFleetObjects(inputs(fleet(), [pool('primary')]));
    expect(d.role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['rig-runtime'], verbs: ['get', 'list', 'watch'] }]);
    expect(d.roleBinding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: d.role.metadata!.name });
    expect(d.roleBinding.subjects).toEqual([{ kind: 'ServiceAccount', name: d.serviceAccount.metadata!.name, namespace: NS }]);
    // the Role names the very ConfigMap the miner config tells the miner to watch
    const cfg = MinerConfigSchema.parse(parseYaml(minerYaml(d)));
    expect(cfg.runtime).toMatchObject({ kubernetes: { configMapName: d.runtimeConfigMap.metadata!.name } });
  });

  it('exposes the metrics port on a headless Service selecting the fleet pods', () => {
    const d = desiredFleetObjects(inputs(fleet(), [pool('primary')]));
    expect(d.service.spec).toEqual({
      clusterIP: 'None',
      selector: fleetLabels(fleet()),
      ports: [{ name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' }],
    });
    expect(fleetSelector(fleet())).toBe('app.kubernetes.io/instance=rig,app.kubernetes.io/name=minefleet-miner');
  });
});

describe('secrets never inlined', () => {
  // The Secrets of this world, as the API server returns them (base64 data, managedFields naming
  // the keys). Each value is distinctive so any copy of it, raw or base64, is found.
  const VALUES = {
    user: 'Ltc1q9xWALLETuser0d1e',
    password: 'hunter2-pool-pass-7d1e',
    user2: 'Ltc1qSECONDwallet55aa',
    password2: 'second-pool-pass-91fe',
    ca: '-----BEGIN CERTIFICATE-----\nMIIBsecretcaQ7x\n-----END CERTIFICATE-----\n',
    unrelated: 'unrelated-key-value-3c3c',
  };
  const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
  const apiSecret = (name: string, data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-secret-${name}`,
      resourceVersion: '42',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) }),
      },
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Apply',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': Object.fromEntries(Object.keys(data).map((k) => [`f:${k}`, {}])) },
        },
      ],
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
  const secrets = () => [
    apiSecret('login', { username: VALUES.user, password: VALUES.password, extra: VALUES.unrelated }),
    apiSecret('login2', { user: VALUES.user2, password: VALUES.password2 }),
    apiSecret('ca', { 'ca.crt': VALUES.ca }),
    // has a username but not the password key: its pool is unusable and named in a message
    apiSecret('half', { username: VALUES.user2 }),
  ];
  const pools = [
    pool('primary', { credentialsSecretRef: { name: 'login' } }),
    pool('secure', {
      url: 'stratum+ssl://s.example:3443',
      credentialsSecretRef: { name: 'login2', userKey: 'user', passwordKey: 'password' },
      tls: { caSecretRef: { name: 'ca' } },
    }),
    pool('broken', { credentialsSecretRef: { name: 'half' } }),
  ];
  const f = fleet({
    pools: [
      { name: 'primary', priority: 0 },
      { name: 'secure', priority: 1 },
      { name: 'broken', priority: 2 },
    ],
    networkPolicy: { enabled: true },
  });
  const forms = Object.values(VALUES).flatMap((v) => [v, b64(v), JSON.stringify(v).slice(1, -1)]);
  const leaked = (what: unknown) => {
    const text = JSON.stringify(what);
    return forms.filter((v) => text.includes(v));
  };

  /**
   * The controller's path (controller.ts reconcile): Secrets reach it through the shared cache
   * (secretsCacheTransform), the reference checks pick the usable pools, the builder renders them.
   * `cache` = false feeds the untransformed Secrets instead, so a later change that let values
   * into the cache could still not carry them into a rendered object or a status message.
   */
  const render = (cache: boolean) => {
    const seen = cache ? secrets().map((s) => secretsCacheTransform(s)) : secrets();
    const missing = missingReferences(f, pools, seen);
    const usable = usablePools(f, pools, seen);
    const d = desiredFleetObjects(inputs(f, usable, 'primary'));
    return { seen, missing, usable, d };
  };

  it('the Secrets cache the controller reads holds the keys, never a value', () => {
    for (const s of secrets()) {
      const cached = secretsCacheTransform(s);
      expect(Object.keys(cached.data ?? {}).sort()).toEqual(Object.keys(s.data).sort());
      expect(leaked(cached), `cached Secret ${s.metadata.name}`).toEqual([]);
    }
  });

  for (const cache of [true, false])
    it(`no Secret value in any rendered object or message, the references are there (${cache ? 'through the Secrets cache' : 'raw Secrets'})`, () => {
      const { missing, usable, d } = render(cache);
      // the path really ran on these Secrets: two pools usable, the one whose Secret lacks a key not
      expect(usable.map((p) => p.metadata.name).sort()).toEqual(['primary', 'secure']);
      expect(missing).toEqual([expect.objectContaining({ kind: 'SecretKey', name: 'half', key: 'password', pool: 'broken' })]);
      expect(leaked(missing), 'missing-reference messages (status, events)').toEqual([]);

      // Every rendered object, and explicitly the places a value would go.
      expect(d.networkPolicy).toBeDefined();
      for (const [kind, o] of Object.entries(d)) expect(leaked(o), kind).toEqual([]);
      const tmpl = d.deployment.spec!.template;
      const containers = [...tmpl.spec!.containers, ...(tmpl.spec!.initContainers ?? [])];
      const annotations = [d.deployment.metadata?.annotations, tmpl.metadata?.annotations, ...Object.values(d).map((o) => o?.metadata?.annotations)];
      expect(leaked(annotations), 'annotations').toEqual([]);
      const env = containers.flatMap((c) => c.env ?? []);
      expect(leaked(env.map((e) => e.value)), 'env values').toEqual([]);
      expect(leaked(minerYaml(d)), 'miner.yaml').toEqual([]);

      // The credentials are there as references the kubelet resolves: user and password of each
      // usable pool from its Secret and key, the CA as a Secret volume.
      const refs = env.filter((e) => e.name.startsWith('MINEFLEET_POOL_'));
      expect(refs.every((e) => e.value === undefined)).toBe(true);
      expect(refs.map((e) => e.valueFrom?.secretKeyRef)).toEqual([
        { name: 'login', key: 'username' },
        { name: 'login', key: 'password' },
        { name: 'login2', key: 'user' },
        { name: 'login2', key: 'password' },
      ]);
      expect(tmpl.spec!.volumes!.filter((v) => v.secret).map((v) => v.secret)).toEqual([{ secretName: 'ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] }]);
      const cfg = MinerConfigSchema.parse(parseYaml(minerYaml(d)));
      expect(cfg.pools.map((p) => [p.name, p.userEnv, p.passwordEnv])).toEqual([
        ['primary', refs[0]!.name, refs[1]!.name],
        ['secure', refs[2]!.name, refs[3]!.name],
      ]);
      // "password" appears only as env var names and Secret key references
      const cleaned = JSON.stringify(d)
        .replace(/MINEFLEET_POOL_\d+_PASSWORD/g, '')
        .replace(/"key":"password"/g, '')
        .replace(/passwordEnv/g, '');
      expect(cleaned).not.toMatch(/password/i);
    });
});
