/**
 * The Helm chart (helm/minefleet) and the image layout it assumes, checked with the real tools:
 * helm lint/template, promtool for the alert rules, and helm install into a real kube-apiserver
 * where `kubectl auth can-i` judges the operator's RBAC and the real operator, authenticated as
 * the chart's ServiceAccount, reconciles the sample fleet.
 */
import type { V1ClusterRole, V1Container, V1Deployment, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ALERTS } from '../../scripts/monitoring/alerts.js';
import { renderCrdFiles } from '../../operator/src/api/crd/definitions.js';
import { envName, loadConfig, usage } from '../../operator/src/config/config.js';
import { MinerFleets, MiningPools } from '../../operator/src/controllers/minerfleet/controller.js';
import { fleetNames, MINER_COMMAND, MINER_UID } from '../../operator/src/controllers/minerfleet/desired/index.js';
import {
  ConfigMaps,
  Deployments,
  NetworkPolicies,
  Events,
  RoleBindings,
  Roles,
  Secrets,
  ServiceAccounts,
  Services,
  type ResourceType,
} from '../../operator/src/runtime/resource.js';
import { isNotFound, KubeRest } from '../../operator/src/runtime/rest.js';
import {
  waitForCrdsEstablished,
  binPath,
  freePort,
  makeTempDir,
  removeTempDir,
  REPO_ROOT,
  runTool,
  spawnProcess,
  startControlPlane,
  systemBinPath,
  waitFor,
  type ControlPlane,
  type ManagedProcess,
  type ToolResult,
} from '../support/index.js';

const CHART = path.join(REPO_ROOT, 'helm', 'minefleet');
const APP_VERSION = '0.1.0';
const DEFAULT_IMAGE = `ghcr.io/minefleet/minefleet:${APP_VERSION}`;

interface KObj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

let scratch: string;
beforeAll(() => {
  scratch = makeTempDir('helm-chart');
});
afterAll(async () => {
  if (scratch) await removeTempDir(scratch);
});

/** helm without a cluster; its cache/config/data homes in the test's temp dir. */
function helm(args: string[]): Promise<ToolResult> {
  return runTool(binPath('helm'), args, {
    env: {
      ...process.env,
      HELM_CACHE_HOME: path.join(scratch, 'helm', 'cache'),
      HELM_CONFIG_HOME: path.join(scratch, 'helm', 'config'),
      HELM_DATA_HOME: path.join(scratch, 'helm', 'data'),
    },
  });
}

/** `helm template` → the rendered objects (throws with helm's stderr on failure). */
async function render(namespace: string, extra: string[] = [], release = 'minefleet'): Promise<KObj[]> {
  const r = await helm(['template', release, CHART, '--namespace', namespace, ...extra]);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as KObj | null;
    })
    .filter((o): o is KObj => o !== null);
}

type Any = any;

function only(objs: KObj[], kind: string, name?: string): KObj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(
    found.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`),
    `exactly one ${kind} ${name ?? ''}`,
  ).toHaveLength(1);
  return found[0]!;
}

function operatorContainer(objs: KObj[]): V1Container {
  const dep = only(objs, 'Deployment') as unknown as V1Deployment;
  const containers = dep.spec!.template.spec!.containers;
  expect(containers.map((c) => c.name)).toEqual(['operator']);
  return containers[0]!;
}

/** The env a pod of this Deployment would see (downward API resolved for `namespace`). */
function containerEnv(c: V1Container, namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (!e.valueFrom)
      env[e.name] = ''; // the API server drops `value: ""`
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else throw new Error(`env ${e.name}: unexpected source ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

/** Does one of the rules grant verb on group/resource (resourceNames ignored: none here restricts)? */
function grants(rules: V1PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => (r.apiGroups ?? []).includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb) && !r.resourceNames?.length);
}

function groupOf(rt: ResourceType): string {
  return rt.apiVersion.includes('/') ? rt.apiVersion.split('/')[0]! : '';
}

/** What the operator's code does with each kind (informers, server-side apply, status, events). */
// Pods: read-only, the fleets' miner pods (the collector scrapes them; Weighted failover assigns each one a pool).
const READ_ONLY: ResourceType[] = [MinerFleets, MiningPools, Secrets, { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }];
const OWNED: ResourceType[] = [ServiceAccounts, Roles, RoleBindings, ConfigMaps, Services, Deployments, NetworkPolicies];
/** Owned kinds a fleet may opt out of: the operator deletes its own (spec.networkPolicy.enabled: false). */
const DELETABLE = new Set([NetworkPolicies.plural]);

/** The rules of the operator's namespaced permissions, as the code needs them (and no more). */
function assertOperatorRules(rules: V1PolicyRule[]): void {
  for (const rt of [...READ_ONLY, ...OWNED]) {
    for (const verb of ['get', 'list', 'watch']) expect(grants(rules, groupOf(rt), rt.plural, verb), `${verb} ${rt.plural}`).toBe(true);
  }
  for (const rt of OWNED) {
    for (const verb of ['create', 'patch']) expect(grants(rules, groupOf(rt), rt.plural, verb), `${verb} ${rt.plural}`).toBe(true);
    for (const verb of ['update', 'deletecollection', '*']) expect(grants(rules, groupOf(rt), rt.plural, verb), `no ${verb} ${rt.plural}`).toBe(false);
    expect(grants(rules, groupOf(rt), rt.plural, 'delete'), `delete ${rt.plural} only where a fleet opts out`).toBe(DELETABLE.has(rt.plural));
  }
  for (const rt of READ_ONLY) {
    for (const verb of ['create', 'update', 'patch', 'delete', '*']) expect(grants(rules, groupOf(rt), rt.plural, verb), `no ${verb} ${rt.plural}`).toBe(false);
  }
  expect(grants(rules, 'minefleet.io', 'minerfleets/status', 'patch')).toBe(true);
  expect(grants(rules, 'minefleet.io', 'miningpools/status', 'patch')).toBe(true);
  expect(grants(rules, '', Events.plural, 'create')).toBe(true);
  expect(grants(rules, '', Events.plural, 'patch')).toBe(true);
  // The miner Role the operator creates grants get/list/watch on a ConfigMap; RBAC only lets
  // the operator create it if it holds those itself (checked above), never via escalate/bind.
  for (const r of rules) {
    expect(
      r.verbs.filter(
        (v) => ['*', 'escalate', 'bind', 'impersonate', 'deletecollection'].includes(v) || (v === 'delete' && !r.resources?.every((x) => DELETABLE.has(x))),
      ),
      JSON.stringify(r),
    ).toEqual([]);
    expect(r.resources?.filter((x) => x === '*' || x === 'nodes') ?? []).toEqual([]);
    expect(r.apiGroups?.includes('*') ?? false).toBe(false);
  }
  // Nothing beyond the kinds above.
  const known = new Set(
    [...READ_ONLY, ...OWNED].map((rt) => rt.plural).concat(['minerfleets/status', 'miningpools/status', 'minerfleets/finalizers', Events.plural]),
  );
  expect(rules.flatMap((r) => r.resources ?? []).filter((x) => !known.has(x))).toEqual([]);
}

describe('helm chart: lint and render', () => {
  it('helm lint --strict passes with default values and with watchNamespaces', async () => {
    for (const extra of [
      [],
      ['--set', 'watchNamespaces={team-a,team-b}'],
      ['--set', 'serviceMonitor.enabled=true,minerPodMonitor.enabled=true,prometheusRule.enabled=true'],
    ]) {
      const r = await helm(['lint', '--strict', CHART, ...extra]);
      expect(r.code, `${extra.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
    const chart = parse(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'minefleet', appVersion: APP_VERSION });
  });

  it('the chart ships exactly the generated CRDs (same bytes as crds/, as `npm run gen:crds` writes)', async () => {
    const files = renderCrdFiles();
    for (const [file, text] of Object.entries(files)) {
      const inChart = await readFile(path.join(CHART, 'crds', file), 'utf8').catch(() => '(missing)');
      expect(inChart, `helm/minefleet/crds/${file} is out of date: run npm run gen:crds`).toBe(text);
      expect(await readFile(path.join(REPO_ROOT, 'crds', file), 'utf8')).toBe(inChart);
    }
    const r = await runTool(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts', 'gen-crds.ts'), '--check'], { cwd: REPO_ROOT });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^unchanged .*helm\/minefleet\/crds\//gm)).toHaveLength(Object.keys(files).length);
  });

  it('default values: cluster-wide RBAC with exactly the verbs the operator uses, lease Role in the release namespace', async () => {
    const objs = await render('minefleet-system');
    // The four ConfigMaps are the Grafana dashboards (test/monitoring/generation.test.ts).
    expect(objs.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    const sa = only(objs, 'ServiceAccount');
    expect(sa.metadata).toMatchObject({ name: 'minefleet', namespace: 'minefleet-system' });

    const cr = only(objs, 'ClusterRole') as unknown as V1ClusterRole;
    assertOperatorRules(cr.rules!);
    expect(grants(cr.rules!, 'coordination.k8s.io', 'leases', 'create'), 'leases only in the release namespace').toBe(false);
    const crb = only(objs, 'ClusterRoleBinding');
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: cr.metadata!.name });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'minefleet', namespace: 'minefleet-system' }]);

    // The API server's endpoints (the miners' NetworkPolicy egress), by name, in default only.
    const endpoints = only(objs, 'Role', 'minefleet-apiserver-endpoints') as unknown as V1Role;
    expect(endpoints.metadata!.namespace).toBe('default');
    expect(endpoints.rules).toEqual([
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], resourceNames: ['kubernetes'], verbs: ['get'] },
      { apiGroups: [''], resources: ['endpoints'], resourceNames: ['kubernetes'], verbs: ['get'] },
    ]);
    expect(only(objs, 'RoleBinding', 'minefleet-apiserver-endpoints').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'minefleet', namespace: 'minefleet-system' },
    ]);
    const lease = only(objs, 'Role', 'minefleet-leader-election') as unknown as V1Role;
    expect(lease.metadata).toMatchObject({ name: 'minefleet-leader-election', namespace: 'minefleet-system' });
    expect(lease.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['minefleet-operator'], verbs: ['get', 'update'] },
    ]);
    const lrb = only(objs, 'RoleBinding', 'minefleet-leader-election');
    expect(lrb.metadata.namespace).toBe('minefleet-system');
    expect(lrb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'minefleet-leader-election' });
  });

  it('default values: the Deployment runs the operator with config the operator accepts, probes and a restricted security context', async () => {
    const objs = await render('minefleet-system');
    const dep = only(objs, 'Deployment') as unknown as V1Deployment;
    expect(dep.metadata!.namespace).toBe('minefleet-system');
    expect(dep.spec!.replicas).toBe(2);
    const pod = dep.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe('minefleet');
    expect(dep.spec!.selector.matchLabels).toEqual(
      Object.fromEntries(Object.entries(dep.spec!.template.metadata!.labels!).filter(([k]) => k in dep.spec!.selector.matchLabels!)),
    );
    const c = operatorContainer(objs);
    expect(c.image).toBe(DEFAULT_IMAGE);
    expect(c.command).toEqual(['node', 'dist/operator/minefleet-operator.mjs']);
    expect(c.args).toEqual([`--miner-image=${DEFAULT_IMAGE}`]);
    // V8's heap sizes come from maxOldSpaceMiB and maxSemiSpaceMiB (what `npm run bench --
    // collector` measures the production variant with); 0 leaves Node's own default for each.
    const nodeOptions = async (...set: string[]) =>
      operatorContainer(
        await render(
          'minefleet-system',
          set.flatMap((v) => ['--set', v]),
        ),
      ).env!.filter((e) => e.name === 'NODE_OPTIONS');
    expect(c.env!.filter((e) => e.name === 'NODE_OPTIONS')).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=144 --max-semi-space-size=8' }]);
    expect(await nodeOptions('maxOldSpaceMiB=512')).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=512 --max-semi-space-size=8' }]);
    expect(await nodeOptions('maxOldSpaceMiB=0')).toEqual([{ name: 'NODE_OPTIONS', value: '--max-semi-space-size=8' }]);
    expect(await nodeOptions('maxSemiSpaceMiB=0')).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=144' }]);
    expect(await nodeOptions('maxOldSpaceMiB=0', 'maxSemiSpaceMiB=0')).toEqual([]);
    // The miners' NetworkPolicies admit exactly this release's operator pods and the Prometheus selector.
    const npConfig = loadConfig(c.args!, containerEnv(c, 'minefleet-system'));
    expect(npConfig.operatorPodSelector).toEqual(dep.spec!.selector.matchLabels);
    expect(npConfig.prometheusPodSelector).toEqual({ 'app.kubernetes.io/name': 'prometheus' });
    expect(npConfig.prometheusNamespaceSelector).toEqual({});
    const custom = operatorContainer(
      await render('minefleet-system', [
        '--set-json',
        'networkPolicy.miners.prometheus={"podSelector":{"app":"prom","tier":"x"},"namespaceSelector":{"team":"mon"}}',
      ]),
    );
    const customConfig = loadConfig(custom.args!, containerEnv(custom, 'minefleet-system'));
    // (Helm merges a map value into the default one: the chart's label stays unless set to null.)
    expect(customConfig.prometheusPodSelector).toEqual({ 'app.kubernetes.io/name': 'prometheus', app: 'prom', tier: 'x' });
    expect(customConfig.prometheusNamespaceSelector).toEqual({ team: 'mon' });

    // Every MINEFLEET_* variable is a setting the operator knows, and the whole env + args
    // parse into the configuration the values describe.
    const env = containerEnv(c, 'minefleet-system');
    const known = usage();
    for (const name of Object.keys(env).filter((n) => n.startsWith('MINEFLEET_')))
      expect(known, `${name} is not an operator setting`).toContain(` env ${name}\n`);
    expect(c.env!.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } });
    const config = loadConfig(c.args!, env);
    expect(config).toMatchObject({
      watchNamespaces: undefined,
      metricsPort: 8080,
      probePort: 8081,
      leaderElect: true,
      leaseName: 'minefleet-operator',
      leaseNamespace: 'minefleet-system',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      concurrency: 4,
      minerImage: DEFAULT_IMAGE,
      logLevel: 'info',
      resyncPeriodSeconds: 600,
      requireTls: false,
    });
    expect(env[envName('leaseName')]).toBe('minefleet-operator');

    // Probes on the probe port, metrics port exposed and behind the metrics Service.
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: config.probePort });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: config.probePort });
    expect(c.ports).toEqual([
      { name: 'metrics', containerPort: config.metricsPort, protocol: 'TCP' },
      { name: 'probes', containerPort: config.probePort, protocol: 'TCP' },
    ]);
    const svc = only(objs, 'Service') as { spec: { selector: Record<string, string>; ports: unknown[] } } & KObj;
    expect(svc.metadata.name).toBe('minefleet-metrics');
    expect(svc.spec.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(svc.spec.selector).toEqual(dep.spec!.selector.matchLabels);

    // Restricted Pod Security Standard.
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext!.runAsUser).toBe(MINER_UID);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext!.capabilities!.add).toBeUndefined();
    expect(c.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources?.limits?.memory).toEqual(expect.any(String));
    expect(c.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'history-spill', mountPath: config.historySpillDir },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'history-spill', emptyDir: { sizeLimit: '1Gi' } },
    ]);
    // No URI Secret by default: no history store (status is still filled).
    expect(config.historyMongodbUri).toBeUndefined();
    expect(config.historyMongodbUriFile).toBeUndefined();
    expect(config).toMatchObject({ historyDb: 'minefleet', collectorIntervalSeconds: 15, collectorWindowSeconds: 60 });
  });

  it('history.mongodb.uriSecretRef: the Secret key is mounted read-only as the file the operator reads its URI from', async () => {
    const objs = await render('minefleet-system', [
      '--set',
      'history.mongodb.uriSecretRef.name=mongo-creds',
      '--set',
      'history.mongodb.uriSecretRef.key=connection-string',
      '--set',
      'history.mongodb.database=mining-history',
      '--set',
      'history.collector.intervalSeconds=30',
      '--set',
      'history.collector.windowSeconds=120',
    ]);
    const dep = only(objs, 'Deployment') as unknown as V1Deployment;
    const c = operatorContainer(objs);
    const env = containerEnv(c, 'minefleet-system');
    const config = loadConfig(c.args!, env);
    expect(config).toMatchObject({ historyDb: 'mining-history', collectorIntervalSeconds: 30, collectorWindowSeconds: 120 });
    expect(config.historyMongodbUri).toBeUndefined();
    const mount = c.volumeMounts!.find((m) => m.name === 'history-uri')!;
    expect(mount).toEqual({ name: 'history-uri', mountPath: '/etc/minefleet/history', readOnly: true });
    expect(config.historyMongodbUriFile).toBe(path.posix.join(mount.mountPath, 'mongodb-uri'));
    const vol = dep.spec!.template.spec!.volumes!.find((v) => v.name === 'history-uri')!;
    expect(vol.secret).toEqual({ secretName: 'mongo-creds', defaultMode: 0o444, items: [{ key: 'connection-string', path: 'mongodb-uri' }] });
    // The operator reads a file laid out as the kubelet projects that Secret key.
    const dir = path.join(scratch, 'history-uri');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'mongodb-uri'), 'mongodb://reporter:pw@mongo.example:27017/\n');
    const { historyUri } = await import('../../operator/src/collector/setup.js');
    expect(await historyUri({ ...config, historyMongodbUriFile: path.join(dir, 'mongodb-uri') })).toBe('mongodb://reporter:pw@mongo.example:27017/');
    // A bad value is refused by the chart with the field named.
    const bad = await helm(['template', 'x', CHART, '--set', 'history.mongodb.uriSecretRef.name=Not_A_Name']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("at '/history/mongodb/uriSecretRef/name'");
  });

  it('watchNamespaces: a Role and RoleBinding per namespace, no cluster-scoped RBAC, the operator watches exactly those', async () => {
    const objs = await render(
      'ops',
      [
        '--set',
        'watchNamespaces={team-a,team-b}',
        '--set',
        'minerImage.tag=0.2.0-rc.1,minerImage.pullPolicy=Always',
        '--set',
        'leaderElection.leaseName=mf-lease',
      ],
      'mf',
    );
    expect(objs.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    const roles = objs.filter((o) => o.kind === 'Role') as unknown as V1Role[];
    expect(roles.map((r) => `${r.metadata!.namespace}/${r.metadata!.name}`).sort()).toEqual([
      'default/mf-minefleet-apiserver-endpoints',
      'ops/mf-minefleet-leader-election',
      'team-a/mf-minefleet',
      'team-b/mf-minefleet',
    ]);
    for (const ns of ['team-a', 'team-b']) {
      const role = roles.find((r) => r.metadata!.namespace === ns)!;
      assertOperatorRules(role.rules!);
      const rb = objs.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === ns)!;
      expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mf-minefleet' });
      expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'mf-minefleet', namespace: 'ops' }]);
    }
    const lease = roles.find((r) => r.metadata!.name === 'mf-minefleet-leader-election')!;
    expect(lease.rules![1]).toEqual({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['mf-lease'], verbs: ['get', 'update'] });

    const c = operatorContainer(objs);
    const config = loadConfig(c.args!, containerEnv(c, 'ops'));
    expect(config.watchNamespaces).toEqual(['team-a', 'team-b']);
    expect(config.leaseNamespace).toBe('ops');
    expect(config.leaseName).toBe('mf-lease');
    expect(config.minerImage).toBe('ghcr.io/minefleet/minefleet:0.2.0-rc.1');
    expect(config.minerImagePullPolicy).toBe('Always');
    expect(c.image).toBe(DEFAULT_IMAGE);
  });

  it('requireTLS: off by default; on, the operator refuses plain and unverified pools; a non-boolean is refused', async () => {
    const load = (c: V1Container) => loadConfig(c.args!, containerEnv(c, 'minefleet-system'));
    expect(load(operatorContainer(await render('minefleet-system'))).requireTls).toBe(false);
    expect(load(operatorContainer(await render('minefleet-system', ['--set', 'requireTLS=true']))).requireTls).toBe(true);
    const bad = await helm(['template', 'minefleet', CHART, '--namespace', 'x', '--set-string', 'requireTLS=yes-please']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/requireTLS/);
  });

  it('podDisruptionBudget: with 2 replicas one operator pod stays up in a drain; none for 1 replica or when disabled; a bad minAvailable is refused', async () => {
    const objs = await render('minefleet-system');
    const pdb = only(objs, 'PodDisruptionBudget') as Any;
    const dep = only(objs, 'Deployment') as unknown as V1Deployment;
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.metadata.namespace).toBe('minefleet-system');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: dep.spec!.selector.matchLabels } });
    expect((only(await render('minefleet-system', ['--set', 'podDisruptionBudget.minAvailable=50%']), 'PodDisruptionBudget') as Any).spec.minAvailable).toBe(
      '50%',
    );
    expect((await render('minefleet-system', ['--set', 'replicaCount=1'])).filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect((await render('minefleet-system', ['--set', 'podDisruptionBudget.enabled=false'])).filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    const bad = await helm(['template', 'minefleet', CHART, '--namespace', 'x', '--set', 'podDisruptionBudget.minAvailable=most']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/podDisruptionBudget/);
  });

  it('networkPolicy.operator: off by default; on, ingress only metrics/probes from the given peers, egress only DNS, miners, API server, MongoDB, pools, feeds', async () => {
    expect((await render('minefleet-system')).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    const objs = await render('minefleet-system', [
      '--set',
      'networkPolicy.operator.enabled=true,probes.port=8081',
      '--set',
      'networkPolicy.operator.mongodb.cidrs={10.9.0.0/16},networkPolicy.operator.pools.ports={3333,4444}',
    ]);
    const np = only(objs, 'NetworkPolicy') as Any;
    const dep = only(objs, 'Deployment') as unknown as V1Deployment;
    expect(np.metadata.namespace).toBe('minefleet-system');
    expect(np.spec.podSelector.matchLabels).toEqual(dep.spec!.selector.matchLabels);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([
      { ports: [{ protocol: 'TCP', port: 8080 }], from: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }] },
      { ports: [{ protocol: 'TCP', port: 8081 }] },
    ]);
    const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));
    expect(np.spec.egress).toEqual([
      {
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'minefleet-miner' } } }], ports: tcp(9100) },
      { ports: tcp(443, 6443) },
      { ports: tcp(27017), to: [{ ipBlock: { cidr: '10.9.0.0/16' } }] },
      { ports: tcp(3333, 4444) },
      { ports: tcp(443, 9332) },
    ]);
    const bad = await helm(['template', 'x', CHART, '--set', 'networkPolicy.operator.mongodb.cidrs={mongo.example}']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('/networkPolicy/operator/mongodb/cidrs/0');
  });

  it('refuses values that would break the operator', async () => {
    const bad = await helm(['template', 'x', CHART, '--set', 'watchNamespaces={Team_A}']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('"Team_A" is not a valid namespace name');
    const twoLeaders = await helm(['template', 'x', CHART, '--set', 'leaderElection.enabled=false']);
    expect(twoLeaders.code).not.toBe(0);
    expect(twoLeaders.stderr).toContain('needs replicaCount 1');
    const single = await render('ops', ['--set', 'leaderElection.enabled=false,replicaCount=1']);
    expect(single.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toEqual(['minefleet-apiserver-endpoints']);
    expect(loadConfig(operatorContainer(single).args!, containerEnv(operatorContainer(single), 'ops')).leaderElect).toBe(false);
    const noSa = await helm(['template', 'x', CHART, '--set', 'serviceAccount.create=false']);
    expect(noSa.code).not.toBe(0);
    expect(noSa.stderr).toContain('serviceAccount.name is required');
  });

  it('monitoring objects are off by default; when on, promtool accepts the alert rules (unit-tested in test/monitoring/alerts.test.ts)', async () => {
    const objs = await render('ops', [
      '--set',
      'serviceMonitor.enabled=true,minerPodMonitor.enabled=true,prometheusRule.enabled=true',
      '--set',
      'serviceMonitor.labels.release=prom',
    ]);
    const sm = only(objs, 'ServiceMonitor') as KObj & { spec: Record<string, any> };
    const svc = only(objs, 'Service') as KObj & { spec: { selector: Record<string, string> } };
    expect(sm.metadata.labels?.release).toBe('prom');
    expect(sm.spec.selector.matchLabels).toEqual(svc.spec.selector);
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', honorLabels: true, interval: '30s', scrapeTimeout: '10s' }]);
    const pm = only(objs, 'PodMonitor') as KObj & { spec: Record<string, any> };
    // The labels the operator puts on miner pods (desired/metadata.ts).
    expect(pm.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'minefleet-miner', 'app.kubernetes.io/managed-by': 'minefleet' });
    expect(pm.spec.podMetricsEndpoints[0].port).toBe('metrics');
    expect(pm.spec.namespaceSelector).toEqual({ any: true });

    const rule = only(objs, 'PrometheusRule') as KObj & { spec: { groups: unknown[] } };
    const dir = makeTempDir('helm-promtool');
    try {
      writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
      const check = await runTool(systemBinPath('promtool'), ['check', 'rules', path.join(dir, 'rules.yaml')]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
    } finally {
      await removeTempDir(dir);
    }

    const defaults = await render('ops');
    expect(defaults.filter((o) => ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].includes(o.kind))).toEqual([]);
  });

  it('the Dockerfile builds the layout the chart and the operator assume', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    // Artifacts built outside (scripts/image.sh makes the context): no RUN step, so the build
    // needs no network; production dependencies only (npm ci --omit=dev in the context).
    const runtime = dockerfile.split(/^FROM /m).at(-1)!;
    expect(dockerfile).not.toMatch(/^RUN /m);
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    for (const copy of ['COPY dist ./dist', 'COPY node_modules ./node_modules', 'COPY package.json ./', 'COPY build ./build']) {
      expect(runtime).toContain(copy);
    }
    const image = readFileSync(path.join(REPO_ROOT, 'scripts', 'image.sh'), 'utf8');
    expect(image).toMatch(/npm ci --omit=dev/);
    expect(image).toMatch(/buildah bud [^\n]*--isolation chroot/);
    // Non-root and numeric (the kubelet verifies runAsNonRoot), the UID the miner pods run as.
    expect(runtime).toMatch(new RegExp(`^USER ${MINER_UID}:${MINER_UID}$`, 'm'));
    // The entrypoint is the chart's operator command; both programs are where the build puts them.
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtime)![1]!) as string[];
    expect(entrypoint).toEqual(['node', 'dist/operator/minefleet-operator.mjs']);
    expect(MINER_COMMAND.slice(0, 2)).toEqual(['node', 'dist/miner/src/main.js']);
    expect(MINER_COMMAND.slice(2)).toEqual(['run', '--config', '/etc/minefleet/miner.yaml']);
    const outDir = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } })
      .compilerOptions;
    expect(outDir).toMatchObject({ outDir: 'dist', rootDir: '.' });
    for (const src of ['operator/src/main.ts', 'miner/src/main.ts']) expect(existsSync(path.join(REPO_ROOT, src)), src).toBe(true);
    // The operator runs as one bundled file (scripts/bundle-operator.mjs, the last step of
    // `npm run build`) made from the compiled entry point.
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/&& node scripts\/bundle-operator\.mjs$/);
    const bundler = readFileSync(path.join(REPO_ROOT, 'scripts', 'bundle-operator.mjs'), 'utf8');
    expect(bundler).toContain("'../dist/operator/src/main.js'");
    expect(bundler).toContain(`'../${entrypoint[1]}'`);
  });
});

// ---------------------------------------------------------------------------------------------
// helm install into a real API server
// ---------------------------------------------------------------------------------------------

const RELEASE = 'minefleet';
const RELEASE_NS = 'minefleet-system';
const FLEET_NS = 'mining';
const SA = `system:serviceaccount:${RELEASE_NS}:minefleet`;

describe('helm install into a real API server', () => {
  let cp: ControlPlane;
  let rest: KubeRest;
  let operator: ManagedProcess | undefined;
  let logDir: string;

  const kubectlOk = async (args: string[], input?: string): Promise<string> => {
    const r = await cp.kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const exists = async (apiPath: string): Promise<boolean> => {
    try {
      await rest.get(apiPath);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  };
  /** `kubectl auth can-i` as a ServiceAccount: exit 0 = yes, 1 = no. */
  const canI = async (as: string, args: string[]): Promise<boolean> => {
    const r = await cp.kubectl(['auth', 'can-i', `--as=${as}`, ...args]);
    if (r.code > 1) throw new Error(`kubectl auth can-i ${args.join(' ')}: ${r.stderr}`);
    expect(r.stdout.trim()).toBe(r.code === 0 ? 'yes' : 'no');
    return r.code === 0;
  };
  const expectCan = async (as: string, checks: Array<[boolean, string[]]>): Promise<void> => {
    const wrong: string[] = [];
    // A few at a time: each is a kubectl process.
    for (let i = 0; i < checks.length; i += 4) {
      const batch = checks.slice(i, i + 4);
      const got = await Promise.all(batch.map(([, args]) => canI(as, args)));
      batch.forEach(([want, args], j) => {
        if (got[j] !== want) wrong.push(`${want ? 'should' : 'should NOT'} be allowed: ${args.join(' ')}`);
      });
    }
    expect(wrong).toEqual([]);
  };

  beforeAll(async () => {
    logDir = makeTempDir('helm-install');
    cp = await startControlPlane({ controllerManager: true });
    rest = new KubeRest(cp.kubeConfig);
    for (const ns of [FLEET_NS, 'team-a', 'team-b']) await kubectlOk(['create', 'namespace', ns]);
  }, 240_000);

  afterAll(async () => {
    await operator?.stop(10_000);
    await cp?.stop();
    if (logDir) await removeTempDir(logDir);
  });

  it('installs: CRDs established, ServiceAccount, RBAC, Deployment and Service created', async () => {
    const r = await cp.helm(['install', RELEASE, CHART, '--namespace', RELEASE_NS, '--create-namespace']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('STATUS: deployed');
    expect(r.stdout).toContain(`minefleet ${APP_VERSION} is installed as release "${RELEASE}" in namespace "${RELEASE_NS}"`);

    await waitForCrdsEstablished(cp);
    const crds = JSON.parse(await kubectlOk(['get', 'crd', '-o', 'json'])) as {
      items: Array<{ metadata: { name: string }; spec: { versions: Array<{ name: string; served: boolean; storage: boolean }> } }>;
    };
    expect(crds.items.map((c) => c.metadata.name).sort()).toEqual(['minerfleets.minefleet.io', 'miningpools.minefleet.io']);
    for (const crd of crds.items) expect(crd.spec.versions).toEqual([expect.objectContaining({ name: 'v1alpha1', served: true, storage: true })]);
    // The category and the short names resolve (once API discovery has caught up).
    const listed = await waitFor(
      async () => {
        const g = await cp.kubectl(['get', 'mining', '-A']);
        return g.code === 0 ? g : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1_000, description: 'kubectl get mining (CRD category in discovery)' },
    );
    expect(listed.stdout).toBe('');
    expect(listed.stderr).toContain('No resources found');
    // kubectl explain reads the published OpenAPI, which can lag behind discovery by a moment.
    const explained = await waitFor(
      async () => {
        const e = await cp.kubectl(['explain', 'mf.spec.replicas']);
        return e.code === 0 ? e.stdout : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1_000, description: 'kubectl explain mf.spec.replicas (CRD schema in the OpenAPI)' },
    );
    expect(explained.toLowerCase()).toContain('replicas');

    expect(await exists(`/api/v1/namespaces/${RELEASE_NS}/serviceaccounts/minefleet`)).toBe(true);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/clusterroles/minefleet')).toBe(true);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/minefleet')).toBe(true);
    expect(await exists(`/apis/rbac.authorization.k8s.io/v1/namespaces/${RELEASE_NS}/roles/minefleet-leader-election`)).toBe(true);
    expect(await exists(`/apis/rbac.authorization.k8s.io/v1/namespaces/${RELEASE_NS}/rolebindings/minefleet-leader-election`)).toBe(true);
    expect(await exists(`/api/v1/namespaces/${RELEASE_NS}/services/minefleet-metrics`)).toBe(true);
    const dep = await rest.get<V1Deployment>(`/apis/apps/v1/namespaces/${RELEASE_NS}/deployments/minefleet`);
    expect(dep.spec!.template.spec!.serviceAccountName).toBe('minefleet');
    expect(dep.spec!.template.spec!.containers[0]!.image).toBe(DEFAULT_IMAGE);
    // kube-controller-manager took it: a ReplicaSet with the operator's pods (Pending: no kubelet).
    await waitFor(
      async () => (await rest.get<V1Deployment>(`/apis/apps/v1/namespaces/${RELEASE_NS}/deployments/minefleet`)).status?.replicas === 2 || undefined,
      {
        timeoutMs: 60_000,
        description: 'the operator Deployment to get its 2 pods',
      },
    );
    const rl = JSON.parse(await cp.helm(['list', '-n', RELEASE_NS, '-o', 'json']).then((x) => x.stdout)) as Array<{
      name: string;
      status: string;
      app_version: string;
    }>;
    expect(rl).toEqual([expect.objectContaining({ name: RELEASE, status: 'deployed', app_version: APP_VERSION })]);
  });

  it('kubectl auth can-i: the operator ServiceAccount can do what the operator does, and not more', async () => {
    const n = ['-n', FLEET_NS];
    await expectCan(SA, [
      [true, ['list', 'minerfleets.minefleet.io', '--all-namespaces']],
      [true, ['watch', 'miningpools.minefleet.io', '--all-namespaces']],
      [true, ['patch', 'minerfleets.minefleet.io', '--subresource=status', ...n]],
      [true, ['patch', 'miningpools.minefleet.io', '--subresource=status', ...n]],
      [true, ['create', 'deployments.apps', ...n]],
      [true, ['patch', 'deployments.apps', ...n]],
      [true, ['watch', 'deployments.apps', '--all-namespaces']],
      [true, ['create', 'configmaps', ...n]],
      [true, ['create', 'services', ...n]],
      [true, ['create', 'serviceaccounts', ...n]],
      [true, ['create', 'roles.rbac.authorization.k8s.io', ...n]],
      [true, ['create', 'rolebindings.rbac.authorization.k8s.io', ...n]],
      [true, ['create', 'events', ...n]],
      [true, ['patch', 'events', ...n]],
      [true, ['get', 'secrets', ...n]],
      [true, ['list', 'secrets', '--all-namespaces']],
      [true, ['create', 'leases.coordination.k8s.io', '-n', RELEASE_NS]],
      [true, ['get', 'leases.coordination.k8s.io/minefleet-operator', '-n', RELEASE_NS]],
      [true, ['update', 'leases.coordination.k8s.io/minefleet-operator', '-n', RELEASE_NS]],
      // not its business
      [false, ['delete', 'nodes']],
      [false, ['get', 'nodes']],
      [false, ['create', 'secrets', ...n]],
      [false, ['update', 'secrets', ...n]],
      [false, ['delete', 'secrets', ...n]],
      [false, ['patch', 'minerfleets.minefleet.io', ...n]],
      [false, ['delete', 'minerfleets.minefleet.io', ...n]],
      [false, ['create', 'miningpools.minefleet.io', ...n]],
      [false, ['delete', 'deployments.apps', ...n]],
      [false, ['create', 'pods', ...n]],
      [false, ['create', 'pods', '--subresource=exec', ...n]],
      [false, ['create', 'clusterroles.rbac.authorization.k8s.io']],
      [false, ['create', 'clusterrolebindings.rbac.authorization.k8s.io']],
      [false, ['escalate', 'roles.rbac.authorization.k8s.io', ...n]],
      [false, ['bind', 'roles.rbac.authorization.k8s.io', ...n]],
      [false, ['impersonate', 'serviceaccounts', ...n]],
      [false, ['create', 'serviceaccounts', '--subresource=token', ...n]],
      [false, ['create', 'leases.coordination.k8s.io', ...n]],
      [false, ['update', 'leases.coordination.k8s.io/kube-scheduler', '-n', RELEASE_NS]],
      [false, ['delete', 'customresourcedefinitions.apiextensions.k8s.io']],
    ]);
  });

  it('the real operator, authenticated as the chart ServiceAccount with the Deployment env, reconciles the sample cpu fleet', async () => {
    // A kubeconfig with a token of the chart's ServiceAccount (TokenRequest), nothing else.
    const token = (await kubectlOk(['create', 'token', 'minefleet', '-n', RELEASE_NS, '--duration=1h'])).trim();
    expect(token.split('.')).toHaveLength(3);
    const admin = JSON.parse(readFileSync(cp.kubeconfigPath, 'utf8')) as { clusters: Array<{ name: string; cluster: Record<string, string> }> };
    const kubeconfig = path.join(logDir, 'operator-sa.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: admin.clusters,
        users: [{ name: 'operator-sa', user: { token } }],
        contexts: [{ name: 'sa', context: { cluster: admin.clusters[0]!.name, user: 'operator-sa' } }],
        'current-context': 'sa',
      }),
      { mode: 0o600 },
    );
    const whoami = await cp.kubectl([`--kubeconfig=${kubeconfig}`, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(whoami.stdout, whoami.stderr).toBe(SA);

    // The installed Deployment's container: its command (relative to the image's WORKDIR, which
    // is laid out like the repository root), args and env, with ports moved off the defaults.
    const dep = await rest.get<V1Deployment>(`/apis/apps/v1/namespaces/${RELEASE_NS}/deployments/minefleet`);
    const c = dep.spec!.template.spec!.containers[0]!;
    const [cmd, script] = c.command!;
    expect(cmd).toBe('node');
    expect(existsSync(path.join(REPO_ROOT, script!)), `${script} missing: run npm run build`).toBe(true);
    const [metricsPort, probePort] = await Promise.all([freePort(), freePort()]);
    const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MINEFLEET_')));
    operator = spawnProcess({
      name: 'operator-as-chart-sa',
      command: process.execPath,
      args: [script!, ...c.args!, `--metrics-port=${metricsPort}`, `--probe-port=${probePort}`, '--bind-address=127.0.0.1', '--identity=chart-sa-test'],
      cwd: REPO_ROOT,
      env: { ...baseEnv, ...containerEnv(c, RELEASE_NS), KUBECONFIG: kubeconfig },
      logFile: path.join(logDir, 'operator.log'),
    });
    const proc = operator;
    // Ready = every informer (all namespaces: fleets, pools, secrets, owned kinds) listed and watching.
    await proc.waitUntilReady(async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`).catch(() => undefined))?.status === 200, {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: 'the operator (as the chart SA) to sync its caches',
    });
    const lease = await waitFor(
      async () => {
        const l = await rest
          .get<{ spec?: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${RELEASE_NS}/leases/minefleet-operator`)
          .catch(() => undefined);
        return l?.spec?.holderIdentity === 'chart-sa-test' ? l : undefined;
      },
      { timeoutMs: 30_000, description: 'the operator to take the lease in the release namespace' },
    );
    expect(lease.spec!.holderIdentity).toBe('chart-sa-test');

    // The samples: Secrets, both pools, the cpu fleet.
    const samples = path.join(REPO_ROOT, 'k8s', 'samples');
    for (const f of ['00-secrets.yaml', 'miningpool-merged.yaml', 'miningpool-ltc-tls.yaml', 'minerfleet-cpu.yaml'])
      await kubectlOk(['apply', '-n', FLEET_NS, '-f', path.join(samples, f)]);
    const names = fleetNames('cpu-fleet');
    const G = `/apis/minefleet.io/v1alpha1/namespaces/${FLEET_NS}`;
    type FleetView = {
      metadata: { generation: number };
      status?: { observedGeneration?: number; activePool?: string; conditions?: Array<{ type: string; status: string }> };
    };
    const fleet = await waitFor(
      async () => {
        const f = await rest.get<FleetView>(`${G}/minerfleets/cpu-fleet`);
        return f.status?.observedGeneration === f.metadata.generation && f.status.activePool ? f : undefined;
      },
      { timeoutMs: 60_000, description: 'the fleet status written by the operator' },
    );
    expect(['merged-ltc-doge', 'ltc-tls']).toContain(fleet.status!.activePool);
    expect(fleet.status!.conditions?.map((x) => x.type)).toEqual(expect.arrayContaining(['Ready', 'PoolAvailable']));

    // Everything the fleet owns, including the miner RBAC (which needs the operator to hold the
    // permissions it grants).
    const core = `/api/v1/namespaces/${FLEET_NS}`;
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${FLEET_NS}`;
    for (const p of [
      `${core}/serviceaccounts/${names.serviceAccount}`,
      `${rbac}/roles/${names.role}`,
      `${rbac}/rolebindings/${names.roleBinding}`,
      `${core}/configmaps/${names.configMap}`,
      `${core}/configmaps/${names.runtimeConfigMap}`,
      `${core}/services/${names.service}`,
    ])
      await waitFor(async () => (await exists(p)) || undefined, { timeoutMs: 30_000, description: p });
    const miners = await waitFor(() => rest.get<V1Deployment>(`/apis/apps/v1/namespaces/${FLEET_NS}/deployments/${names.deployment}`).catch(() => undefined), {
      timeoutMs: 30_000,
      description: 'the miner Deployment',
    });
    const mc = miners.spec!.template.spec!.containers[0]!;
    expect(mc.image).toBe(DEFAULT_IMAGE);
    expect(mc.command).toEqual([...MINER_COMMAND]);
    expect(miners.spec!.replicas).toBe(3);
    // The miner's ServiceAccount can read its runtime ConfigMap and nothing else.
    const minerSa = `system:serviceaccount:${FLEET_NS}:${names.serviceAccount}`;
    await expectCan(minerSa, [
      [true, ['get', `configmaps/${names.runtimeConfigMap}`, '-n', FLEET_NS]],
      [true, ['watch', `configmaps/${names.runtimeConfigMap}`, '-n', FLEET_NS]],
      [false, ['get', `configmaps/${names.configMap}`, '-n', FLEET_NS]],
      [false, ['get', 'secrets/ltc-pool-credentials', '-n', FLEET_NS]],
    ]);
    // Events recorded on the fleet (create permission in the fleet's namespace).
    const events = await waitFor(
      async () => {
        const list = await rest.get<{ items: Array<{ reason: string; involvedObject: { name: string } }> }>(`${core}/events`);
        const mine = list.items.filter((e) => e.involvedObject.name === 'cpu-fleet');
        return mine.some((e) => e.reason === 'Created') ? mine : undefined;
      },
      { timeoutMs: 30_000, description: 'a Created event on the fleet' },
    );
    expect(events.length).toBeGreaterThan(0);

    const log = readFileSync(path.join(logDir, 'operator.log'), 'utf8');
    expect(log).not.toMatch(/forbidden/i);
    expect(log).toContain('created owned object');

    // Graceful stop releases the lease (get + update on its own Lease).
    await proc.stop(20_000);
    expect(proc.exitStatus?.code).toBe(0);
    const released = await rest.get<{ spec?: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${RELEASE_NS}/leases/minefleet-operator`);
    expect(released.spec?.holderIdentity ?? '').toBe('');
    expect(readFileSync(path.join(logDir, 'operator.log'), 'utf8')).not.toMatch(/forbidden/i);
  });

  it('a second release with watchNamespaces gets permissions in the watched namespace only', async () => {
    const r = await cp.helm(['install', 'scoped', CHART, '--namespace', 'scoped-system', '--create-namespace', '--set', 'watchNamespaces={team-a}']);
    expect(r.code, r.stderr).toBe(0);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/clusterroles/scoped-minefleet')).toBe(false);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles/scoped-minefleet')).toBe(true);
    const sa = 'system:serviceaccount:scoped-system:scoped-minefleet';
    await expectCan(sa, [
      [true, ['list', 'minerfleets.minefleet.io', '-n', 'team-a']],
      [true, ['create', 'deployments.apps', '-n', 'team-a']],
      [true, ['get', 'secrets', '-n', 'team-a']],
      [true, ['create', 'leases.coordination.k8s.io', '-n', 'scoped-system']],
      [false, ['list', 'minerfleets.minefleet.io', '-n', 'team-b']],
      [false, ['list', 'minerfleets.minefleet.io', '--all-namespaces']],
      [false, ['create', 'deployments.apps', '-n', 'team-b']],
      [false, ['get', 'secrets', '-n', 'team-b']],
      [false, ['get', 'secrets', '-n', 'scoped-system']],
    ]);
    const u = await cp.helm(['uninstall', 'scoped', '--namespace', 'scoped-system', '--wait']);
    expect(u.code, u.stderr).toBe(0);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/roles/scoped-minefleet')).toBe(false);
    expect(await exists('/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings/scoped-minefleet')).toBe(false);
  });

  it('helm uninstall removes what the chart installed and keeps the CRDs (and with them the fleets)', async () => {
    const r = await cp.helm(['uninstall', RELEASE, '--namespace', RELEASE_NS, '--wait']);
    expect(r.code, r.stderr).toBe(0);
    const gone = [
      `/apis/apps/v1/namespaces/${RELEASE_NS}/deployments/minefleet`,
      `/api/v1/namespaces/${RELEASE_NS}/serviceaccounts/minefleet`,
      `/api/v1/namespaces/${RELEASE_NS}/services/minefleet-metrics`,
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/minefleet',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/minefleet',
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${RELEASE_NS}/roles/minefleet-leader-election`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${RELEASE_NS}/rolebindings/minefleet-leader-election`,
    ];
    await waitFor(
      async () => {
        const left = (await Promise.all(gone.map(async (p) => ((await exists(p)) ? p : undefined)))).filter(Boolean);
        return left.length === 0 || undefined;
      },
      { timeoutMs: 60_000, description: 'the release objects to be deleted' },
    );
    expect(await canI(SA, ['list', 'minerfleets.minefleet.io', '--all-namespaces'])).toBe(false);
    expect(await exists('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/minerfleets.minefleet.io')).toBe(true);
    expect(await exists(`/apis/minefleet.io/v1alpha1/namespaces/${FLEET_NS}/minerfleets/cpu-fleet`)).toBe(true);
    expect((await cp.helm(['list', '-A', '-q'])).stdout.trim()).toBe('');
  });
});
