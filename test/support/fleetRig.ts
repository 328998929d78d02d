/**
 * A fleet the way production runs it, minus the kubelet: the built operator as a process against
 * the harness's kube-apiserver, real Stratum test pools that can be killed, revived and stalled,
 * and miner processes started from what the operator rendered (the fleet's config ConfigMap and
 * the Deployment's env, secrets resolved from the real Secret), each watching the fleet's runtime
 * ConfigMap through the API server with KUBECONFIG, as pods do in-cluster. Optional Pod objects
 * (same names and labels) give the operator's Weighted assignment its pods.
 *
 * Used by bench/failover.bench.ts and test/pools/*.test.ts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fleetNames } from '../../operator/src/controllers/minerfleet/desired/names.js';
import { isNotFound, type KubeRest } from '../../operator/src/runtime/rest.js';
import type { ControlPlane } from './controlPlane.js';
import { installCrds } from './crds.js';
import { REPO_ROOT } from './paths.js';
import { freePort } from './ports.js';
import { spawnProcess, type ManagedProcess } from './process.js';
import { startStratumPool, type ShareRecord, type StratumPool, type StratumPoolOptions } from './stratum/index.js';
import { waitFor } from './wait.js';

type Any = any;

/** The password of every rig pool login: tests grep every captured output for it. */
export const RIG_POOL_PASSWORD = 'rig-pool-password-4c7e91d2';
export const RIG_POOL_USER = 'wallet-rig';
export const G = '/apis/minefleet.io/v1alpha1';

export const OPERATOR_MAIN = process.env.MINEFLEET_OPERATOR_MAIN ?? path.join(REPO_ROOT, 'dist/operator/minefleet-operator.mjs');
export const MINER_MAIN = process.env.MINEFLEET_MINER_MAIN ?? path.join(REPO_ROOT, 'dist/miner/src/main.js');

export function requireBuild(): void {
  for (const f of [OPERATOR_MAIN, MINER_MAIN]) if (!existsSync(f)) throw new Error(`fleet rig needs the build: run \`npm run build\` first (${f} missing)`);
}

/** CRDs, the namespace, its default ServiceAccount (no controller-manager) and the pool login Secret. */
export async function prepareNamespace(cp: ControlPlane, rest: KubeRest, ns: string): Promise<void> {
  await installCrds(cp);
  await rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await rest.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
  await rest.create(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: ns },
    stringData: { username: RIG_POOL_USER, password: RIG_POOL_PASSWORD },
  });
}

export interface ProbePolicyInput {
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  successThreshold: number;
}

export function createMiningPool(rest: KubeRest, ns: string, name: string, url: string, probe: ProbePolicyInput): Promise<unknown> {
  return rest.create(`${G}/namespaces/${ns}/miningpools`, {
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MiningPool',
    metadata: { name, namespace: ns },
    spec: { url, coins: ['LTC'], credentialsSecretRef: { name: 'creds' }, probe },
  });
}

export function createMinerFleet(
  rest: KubeRest,
  ns: string,
  name: string,
  replicas: number,
  pools: Array<{ name: string; priority: number; weight?: number }>,
  failover: { strategy: 'Priority' | 'Weighted'; failbackAfterSeconds: number },
): Promise<unknown> {
  return rest.create(`${G}/namespaces/${ns}/minerfleets`, {
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MinerFleet',
    metadata: { name, namespace: ns },
    spec: { replicas, device: { kind: 'cpu' }, miner: { backend: 'cpu', threads: 1 }, pools, failover },
  });
}

export async function getOrUndefined<T = Any>(rest: KubeRest, p: string): Promise<T | undefined> {
  try {
    return await rest.get<T>(p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export interface RuntimeState {
  activePool: string;
  revision: number;
  assignments?: Record<string, string>;
}

/** The fleet's published decision (runtime ConfigMap), or undefined before the first one. */
export async function runtimeOf(rest: KubeRest, ns: string, fleet: string): Promise<RuntimeState | undefined> {
  const cm = await getOrUndefined(rest, `/api/v1/namespaces/${ns}/configmaps/${fleetNames(fleet).runtimeConfigMap}`);
  return cm?.data?.['runtime.json'] ? (JSON.parse(cm.data['runtime.json']) as RuntimeState) : undefined;
}

export async function poolAvailable(rest: KubeRest, ns: string, pool: string): Promise<boolean> {
  const p = await getOrUndefined(rest, `${G}/namespaces/${ns}/miningpools/${pool}`);
  return p?.status?.conditions?.find((c: Any) => c.type === 'Available')?.status === 'True';
}

/** A restartable test pool per name, each with its MiningPool (probed with `probe`), started one after the other. */
export async function startProbedPools(
  rest: KubeRest,
  ns: string,
  names: readonly string[],
  probe: ProbePolicyInput,
): Promise<Record<string, RestartablePool>> {
  const pools: Record<string, RestartablePool> = {};
  for (const name of names) {
    pools[name] = await startRestartablePool(name);
    await createMiningPool(rest, ns, name, pools[name].url, probe);
  }
  return pools;
}

/** Until the operator has probed every named pool Available. */
export async function waitPoolsAvailable(rest: KubeRest, ns: string, names: readonly string[], description = 'pools Available'): Promise<void> {
  await waitFor(async () => (await Promise.all(names.map((p) => poolAvailable(rest, ns, p)))).every(Boolean), { timeoutMs: 60_000, description });
}

// ---- operator ---------------------------------------------------------------------------------

export interface OperatorProcess {
  identity: string;
  proc: ManagedProcess;
  metricsPort: number;
  probePort: number;
  metrics(): Promise<string>;
  log(): string;
}

export interface OperatorOptions {
  dir: string;
  namespace: string;
  identity?: string;
  /** Lease leader election with short timings (lease seconds); off when undefined. */
  leaseSeconds?: number;
  historyUri?: string;
  logLevel?: string;
  extraArgs?: string[];
  /** NODE_OPTIONS for the operator process (e.g. a heap limit, as a container's would be). */
  nodeOptions?: string;
  /** Another build's operator entry point (a benchmark's before/after); default OPERATOR_MAIN. */
  main?: string;
}

export async function startOperatorProcess(cp: ControlPlane, o: OperatorOptions): Promise<OperatorProcess> {
  const identity = o.identity ?? 'operator';
  const [metricsPort, probePort] = await Promise.all([freePort(), freePort()]);
  const election =
    o.leaseSeconds === undefined
      ? ['--no-leader-elect']
      : [
          `--identity=${identity}`,
          `--lease-namespace=${o.namespace}`,
          '--lease-name=minefleet-operator',
          `--lease-duration=${o.leaseSeconds}`,
          `--renew-deadline=${Math.max(2, Math.floor(o.leaseSeconds * 0.6))}`,
          '--retry-period=1',
        ];
  const proc = spawnProcess({
    name: `operator-${identity}`,
    command: process.execPath,
    args: [
      o.main ?? OPERATOR_MAIN,
      ...election,
      `--metrics-port=${metricsPort}`,
      `--probe-port=${probePort}`,
      '--bind-address=127.0.0.1',
      `--watch-namespaces=${o.namespace}`,
      '--miner-image=minefleet:rig',
      `--log-level=${o.logLevel ?? 'info'}`,
      ...(o.historyUri ? [`--history-mongodb-uri=${o.historyUri}`, `--history-spill-dir=${path.join(o.dir, `spill-${identity}`)}`] : []),
      ...(o.extraArgs ?? []),
    ],
    env: { PATH: process.env.PATH, KUBECONFIG: cp.kubeconfigPath, ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}) },
    logFile: path.join(o.dir, `${identity}.log`),
  });
  await proc.waitUntilReady(async () => (await fetch(`http://127.0.0.1:${probePort}/healthz`)).ok, { timeoutMs: 60_000, description: `${identity} healthz` });
  return {
    identity,
    proc,
    metricsPort,
    probePort,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    log: () => readFileSync(proc.logFile, 'utf8'),
  };
}

// ---- pools ------------------------------------------------------------------------------------

export interface RestartablePool {
  name: string;
  port: number;
  url: string;
  state(): 'up' | 'down' | 'stalled';
  current(): StratumPool | undefined;
  /** Every share of every incarnation, oldest first. */
  shares(): ShareRecord[];
  /** Process stop: listener closed, every connection ended. */
  kill(): Promise<void>;
  /** Back on the same port (a fresh pool process). */
  revive(): Promise<void>;
  /** Connections stay open; nothing is answered and no job is sent. */
  stall(): void;
  unstall(): void;
  stop(): Promise<void>;
}

export async function startRestartablePool(name: string, opts: StratumPoolOptions = {}): Promise<RestartablePool> {
  let cur: StratumPool | undefined = await startStratumPool({ difficulty: 0.004, ...opts });
  const port = cur.port;
  const url = cur.url;
  const retired: ShareRecord[] = [];
  let stalled = false;
  return {
    name,
    port,
    url,
    state: () => (cur === undefined ? 'down' : stalled ? 'stalled' : 'up'),
    current: () => cur,
    shares: () => (cur ? [...retired, ...cur.shares] : retired),
    async kill() {
      if (!cur) return;
      const c = cur;
      cur = undefined;
      stalled = false;
      retired.push(...c.shares);
      await c.stop();
    },
    async revive() {
      if (cur) return;
      cur = await startStratumPool({ difficulty: 0.004, ...opts, port });
    },
    stall() {
      cur?.setBehavior({ stall: true });
      stalled = cur !== undefined;
    },
    unstall() {
      cur?.setBehavior({ stall: false });
      stalled = false;
    },
    async stop() {
      if (!cur) return;
      retired.push(...cur.shares);
      const c = cur;
      cur = undefined;
      await c.stop();
    },
  };
}

// ---- miners -----------------------------------------------------------------------------------

export interface RigMiner {
  pod: string;
  proc: ManagedProcess;
  metricsPort: number;
  /** Sum of a metric's samples whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  logLines(): Array<Record<string, unknown>>;
}

export interface FleetMinersOptions {
  dir: string;
  namespace: string;
  fleet: string;
  count: number;
  /** Pod names (default `<fleet>-m00`, `-m01`, …). */
  podName?: (i: number) => string;
  /** Create Pod objects with those names and the template's labels (Weighted needs them). */
  createPods?: boolean;
  /** Niceness of the miner processes: they hash flat out on a shared machine. Default 10. */
  nice?: number;
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** What the kubelet would put into the container's environment from the Deployment's env. */
async function containerEnv(rest: KubeRest, ns: string, pod: string, env: Any[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const secrets = new Map<string, Any>();
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') out[e.name] = pod;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') out[e.name] = ns;
    else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      if (!secrets.has(name)) secrets.set(name, await rest.get(`/api/v1/namespaces/${ns}/secrets/${name}`));
      const v = secrets.get(name).data?.[key];
      if (v === undefined) throw new Error(`fleet rig: Secret ${ns}/${name} has no key ${key} (env ${e.name})`);
      out[e.name] = b64(v);
    } else throw new Error(`fleet rig: env ${e.name} has a source the rig does not resolve: ${JSON.stringify(e.valueFrom)}`);
  }
  return out;
}

export async function startFleetMiners(cp: ControlPlane, rest: KubeRest, o: FleetMinersOptions): Promise<RigMiner[]> {
  const names = fleetNames(o.fleet);
  const ns = o.namespace;
  const deployment = await waitFor(() => getOrUndefined(rest, `/apis/apps/v1/namespaces/${ns}/deployments/${names.deployment}`), {
    timeoutMs: 60_000,
    description: `Deployment ${ns}/${names.deployment}`,
  });
  const cm = await waitFor(() => getOrUndefined(rest, `/api/v1/namespaces/${ns}/configmaps/${names.configMap}`), {
    timeoutMs: 30_000,
    description: `ConfigMap ${ns}/${names.configMap}`,
  });
  const config = parseYaml(cm.data['miner.yaml']);
  // The pod has its own network namespace; here the metrics server binds loopback on a free port.
  config.metrics = { ...config.metrics, host: '127.0.0.1', port: 0 };
  const template = deployment.spec.template;
  const container = template.spec.containers[0];
  const podName = o.podName ?? ((i: number) => `${o.fleet}-m${String(i).padStart(2, '0')}`);
  const miners: RigMiner[] = [];
  await Promise.all(
    Array.from({ length: o.count }, async (_, i) => {
      const pod = podName(i);
      if (o.createPods)
        await rest.create(`/api/v1/namespaces/${ns}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod, namespace: ns, labels: template.metadata.labels },
          spec: { containers: [{ name: container.name, image: container.image }] },
        });
      const configPath = path.join(o.dir, `${pod}.yaml`);
      writeFileSync(configPath, JSON.stringify(config, null, 2));
      const env = await containerEnv(rest, ns, pod, container.env ?? []);
      const proc = spawnProcess({
        name: `miner-${pod}`,
        command: 'nice',
        args: ['-n', String(o.nice ?? 10), process.execPath, MINER_MAIN, 'run', '--config', configPath],
        env: { PATH: process.env.PATH, KUBECONFIG: cp.kubeconfigPath, ...env },
        logFile: path.join(o.dir, `${pod}.log`),
      });
      const logLines = () =>
        readFileSync(proc.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => {
            try {
              return JSON.parse(l) as Record<string, unknown>;
            } catch {
              return { msg: `unparsed: ${l}` };
            }
          });
      const metricsPort = await waitFor(
        () => {
          if (!proc.running) throw new Error(`miner ${pod} exited: ${proc.tail()}`);
          return logLines().find((l) => l.msg === 'metrics server listening')?.port as number | undefined;
        },
        { timeoutMs: 60_000, description: `miner ${pod} metrics server` },
      );
      miners.push({
        pod,
        proc,
        metricsPort,
        logLines,
        metric: async (name, labels = {}) => {
          const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
          let sum = 0;
          for (const line of text.split('\n')) {
            const m = /^([^{ ]+)(\{(.*)\})? (\S+)$/.exec(line);
            if (!m || m[1] !== name) continue;
            const ls: Record<string, string> = {};
            for (const kv of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1]!] = kv[2]!;
            if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[4]);
          }
          return sum;
        },
      });
    }),
  );
  return miners.sort((a, b) => (a.pod < b.pod ? -1 : 1));
}

/** The worker name a rig miner logs in with (workerNameTemplate `{{fleet}}.{{pod}}`). */
export function workerOf(fleet: string, pod: string): string {
  return `${RIG_POOL_USER}.${fleet}.${pod}`;
}

/** First accepted share of `worker` at `pool` received at or after `after` (ms epoch). */
export function firstAccepted(pool: RestartablePool, worker: string, after: number): number | undefined {
  for (const s of pool.shares()) if (s.worker === worker && s.result === 'accepted' && s.receivedAt >= after) return s.receivedAt;
  return undefined;
}

export async function stopAll(...things: Array<{ stop(): Promise<unknown> } | { proc: ManagedProcess } | undefined>): Promise<void> {
  await Promise.all(
    things.map(async (t) => {
      if (!t) return;
      if ('proc' in t) await t.proc.stop(10_000);
      else await t.stop();
    }),
  );
}

/**
 * Everything the operator and the miners put out, as text, for the "no password anywhere" check:
 * every MiningPool and MinerFleet (spec + status), Event, ConfigMap and Deployment of the
 * namespace, the operators' logs and /metrics, and the miners' logs.
 */
export async function capturedOutputs(
  rest: KubeRest,
  ns: string,
  operators: OperatorProcess[],
  miners: RigMiner[] = [],
): Promise<Array<{ what: string; text: string }>> {
  const out: Array<{ what: string; text: string }> = [];
  for (const [what, p] of [
    ['MiningPools', `${G}/namespaces/${ns}/miningpools`],
    ['MinerFleets', `${G}/namespaces/${ns}/minerfleets`],
    ['Events', `/api/v1/namespaces/${ns}/events`],
    ['ConfigMaps', `/api/v1/namespaces/${ns}/configmaps`],
    ['Deployments', `/apis/apps/v1/namespaces/${ns}/deployments`],
  ] as const)
    out.push({ what, text: JSON.stringify(await rest.get(p)) });
  for (const o of operators) {
    out.push({ what: `${o.identity} log`, text: o.log() });
    if (o.proc.running) out.push({ what: `${o.identity} /metrics`, text: await o.metrics() });
  }
  for (const m of miners) out.push({ what: `${m.pod} log`, text: readFileSync(m.proc.logFile, 'utf8') });
  return out;
}
