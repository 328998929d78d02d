import { KubeConfig } from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { controlPlaneCerts, readPem, type ControlPlaneCerts } from './certs.js';
import { binPath } from './paths.js';
import { freePort, retryOnPortClash } from './ports.js';
import { makeTempDir, removeTempDir, spawnProcess, type ManagedProcess } from './process.js';
import { runTool, type ToolResult } from './tools.js';

export interface ControlPlane {
  /** client-node config with the admin identity (group system:masters). */
  kubeConfig: KubeConfig;
  /** kubeconfig file (certificates embedded) for kubectl, helm and spawned programs. */
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  kubectl(args: string[], opts?: { input?: string }): Promise<ToolResult>;
  helm(args: string[], opts?: { input?: string }): Promise<ToolResult>;
  /** Stops kube-apiserver and starts it again on the same port against the same etcd. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
  /** PIDs of the running component processes (etcd, kube-apiserver, ...). */
  pids(): number[];
  /** How long start-up took, per phase, in ms. */
  timings: Record<string, number>;
}

export interface ControlPlaneOptions {
  /** Start kube-controller-manager (Deployments → ReplicaSets → Pods, GC, ServiceAccounts). */
  controllerManager?: boolean;
  /** Start kube-scheduler (binds Pods to Nodes; there are no Nodes unless a test creates one). */
  scheduler?: boolean;
  /**
   * Ready for a real node (startNode): kube-apiserver advertises the node's bridge address (the
   * `kubernetes` Service's endpoint, which startNode relays to loopback) and talks to the
   * kubelet with the admin client certificate; kube-controller-manager also runs the
   * controllers a node needs (root CA ConfigMap for projected tokens, node lifecycle).
   */
  node?: boolean;
  /**
   * etcd's watch progress-notify interval (default 10 min). Progress notifications are what moves
   * the API server's watch cache — and so the bookmarks it sends — forward for a resource that has
   * no events; a test of bookmarks on a quiet watch shortens it.
   */
  etcdProgressNotifySeconds?: number;
}

const SERVICE_CIDR = '10.0.0.0/24';
/** The node's address on its bridge (nodeNetwork.ts NODE_IP). */
const NODE_ADVERTISE_ADDRESS = '10.250.0.1';
const NODE_CONTROLLERS = ['root-ca-cert-publisher', 'nodelifecycle', 'taint-eviction-controller', 'ttl'];
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const READY_TIMEOUT_MS = 120_000;

// Controllers the tests rely on (owner-reference GC, Deployments, ServiceAccounts and their
// tokens, namespace deletion) plus the cheap workload/endpoint ones a chart may touch.
const CONTROLLERS = [
  'deployment',
  'replicaset',
  'garbagecollector',
  'serviceaccount',
  'serviceaccount-token',
  'namespace',
  'statefulset',
  'daemonset',
  'job',
  'endpoint',
  'endpointslice',
  'clusterrole-aggregation',
  'podgc',
];

/** etcd + kube-apiserver (optionally kube-controller-manager and kube-scheduler) on 127.0.0.1. */
export function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  return retryOnPortClash(() => startControlPlaneOnce(opts));
}

async function startControlPlaneOnce(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const dir = makeTempDir('kube');
  const processes: ManagedProcess[] = [];
  let apiserver: ManagedProcess | undefined;
  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const etcd = startEtcd(dir, etcdClientPort, etcdPeerPort, opts.etcdProgressNotifySeconds);
    processes.push(etcd);
    const certs = await controlPlaneCerts();
    timings.certsMs = Date.now() - started;

    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const server = `https://127.0.0.1:${apiPort}`;
    const api = new ApiProbe(server, certs);
    const apiserverArgs = kubeApiServerArgs(dir, certs, etcdUrl, apiPort, opts.node === true);
    const launchApiServer = (): ManagedProcess =>
      spawnProcess({
        name: 'kube-apiserver',
        command: binPath('kube-apiserver'),
        args: apiserverArgs,
        logFile: path.join(dir, 'kube-apiserver.log'),
      });
    const waitApiServerReady = async (proc: ManagedProcess): Promise<void> => {
      await proc.waitUntilReady(async () => proc.listensOn(apiPort) && (await api.get('/readyz')).status === 200, {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 100,
        description: `kube-apiserver ${server}/readyz`,
      });
      await proc.waitUntilReady(async () => (await api.get('/api/v1/namespaces/default')).status === 200, {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 100,
        description: 'the default namespace',
      });
    };

    // kube-apiserver needs a second or more to initialise before it talks to etcd (and retries
    // until etcd answers), so both start together; etcd's own check gives the clearer error.
    apiserver = launchApiServer();
    processes.push(apiserver);
    await etcd.waitUntilReady(
      async () => {
        if (!etcd.listensOn(etcdClientPort)) return false;
        const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      { timeoutMs: 60_000, intervalMs: 25, description: `etcd health at ${etcdUrl}/health` },
    );
    timings.etcdReadyMs = Date.now() - started;

    await waitApiServerReady(apiserver);
    timings.apiserverReadyMs = Date.now() - started;

    const kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, certs), { mode: 0o600 });

    const optional: Promise<void>[] = [];
    if (opts.controllerManager) {
      const kcm = spawnProcess({
        name: 'kube-controller-manager',
        command: binPath('kube-controller-manager'),
        args: [
          `--kubeconfig=${kubeconfigPath}`,
          `--service-account-private-key-file=${certs.serviceAccountKey}`,
          `--root-ca-file=${certs.caCert}`,
          '--use-service-account-credentials=true',
          '--leader-elect=false',
          `--controllers=${[...CONTROLLERS, ...(opts.node ? NODE_CONTROLLERS : [])].join(',')}`,
          '--secure-port=0',
          '--v=1',
        ],
        logFile: path.join(dir, 'kube-controller-manager.log'),
      });
      processes.push(kcm);
      optional.push(
        kcm
          .waitUntilReady(async () => (await api.get('/api/v1/namespaces/default/serviceaccounts/default')).status === 200, {
            timeoutMs: READY_TIMEOUT_MS,
            intervalMs: 100,
            description: 'kube-controller-manager to create the default ServiceAccount',
          })
          .then(() => {
            timings.controllerManagerReadyMs = Date.now() - started;
          }),
      );
    }
    if (opts.scheduler) {
      const scheduler = spawnProcess({
        name: 'kube-scheduler',
        command: binPath('kube-scheduler'),
        args: [`--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--v=2'],
        logFile: path.join(dir, 'kube-scheduler.log'),
      });
      processes.push(scheduler);
      // Without a Node the scheduler has no API-visible sign of life; its Pod informer having
      // synced (logged at -v=2) means it sees and will schedule Pods.
      optional.push(
        scheduler
          .waitUntilReady(() => /Caches populated" type="\*v1\.Pod"/.test(scheduler.tail(400)), {
            timeoutMs: READY_TIMEOUT_MS,
            intervalMs: 100,
            description: 'kube-scheduler to sync its Pod informer',
          })
          .then(() => {
            timings.schedulerReadyMs = Date.now() - started;
          }),
      );
    }
    await Promise.all(optional);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    timings.totalMs = Date.now() - started;

    const helmHome = path.join(dir, 'helm');
    let stopped = false;
    const plane: ControlPlane = {
      kubeConfig,
      kubeconfigPath,
      server,
      timings,
      kubectl: (args, o = {}) => runTool(binPath('kubectl'), [`--kubeconfig=${kubeconfigPath}`, ...args], { input: o.input }),
      helm: (args, o = {}) =>
        runTool(binPath('helm'), [`--kubeconfig=${kubeconfigPath}`, ...args], {
          input: o.input,
          env: {
            ...process.env,
            HELM_CACHE_HOME: path.join(helmHome, 'cache'),
            HELM_CONFIG_HOME: path.join(helmHome, 'config'),
            HELM_DATA_HOME: path.join(helmHome, 'data'),
          },
        }),
      async restartApiServer() {
        if (stopped) throw new Error('restartApiServer: the control plane is stopped');
        const old = apiserver;
        if (old) {
          // With clients watching, graceful termination can hang for many seconds waiting for
          // their connections; a watch-recovery test wants the server gone, so be brief.
          await old.stop(2_000);
          processes.splice(processes.indexOf(old), 1);
        }
        const fresh = launchApiServer();
        apiserver = fresh;
        processes.push(fresh);
        await waitApiServerReady(fresh);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll(processes);
        await removeTempDir(dir);
      },
      pids: () => processes.filter((p) => p.running).map((p) => p.pid),
    };
    return plane;
  } catch (err) {
    await stopAll(processes);
    await removeTempDir(dir);
    throw err;
  }
}

async function stopAll(processes: ManagedProcess[]): Promise<void> {
  // Everything is thrown away with the temp dir, and kube-apiserver's graceful termination alone
  // takes about a second: kill. Clients first so they do not log errors against a dying server.
  const clients = processes.filter((p) => p.name !== 'etcd' && p.name !== 'kube-apiserver');
  await Promise.all(clients.map((p) => p.kill()));
  await Promise.all(processes.filter((p) => p.name === 'kube-apiserver').map((p) => p.kill()));
  await Promise.all(processes.filter((p) => p.name === 'etcd').map((p) => p.kill()));
}

function startEtcd(dir: string, clientPort: number, peerPort: number, progressNotifySeconds?: number): ManagedProcess {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return spawnProcess({
    name: 'etcd',
    command: binPath('etcd'),
    args: [
      '--name=default',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--initial-cluster-state=new',
      // Test data is thrown away: skip fsync (the biggest cost on a shared disk).
      '--unsafe-no-fsync',
      // A single member elects itself; short raft timers make that take milliseconds, not ~1 s.
      '--heartbeat-interval=10',
      '--election-timeout=100',
      '--log-level=warn',
      ...(progressNotifySeconds ? [`--experimental-watch-progress-notify-interval=${progressNotifySeconds}s`] : []),
    ],
    logFile: path.join(dir, 'etcd.log'),
  });
}

function kubeApiServerArgs(dir: string, certs: ControlPlaneCerts, etcdUrl: string, port: number, node: boolean): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    `--advertise-address=${node ? NODE_ADVERTISE_ADDRESS : '127.0.0.1'}`,
    ...(node
      ? ['--kubelet-preferred-address-types=InternalIP', `--kubelet-client-certificate=${certs.adminCert}`, `--kubelet-client-key=${certs.adminKey}`]
      : []),
    `--secure-port=${port}`,
    `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${certs.apiserverCert}`,
    `--tls-private-key-file=${certs.apiserverKey}`,
    `--client-ca-file=${certs.caCert}`,
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${certs.serviceAccountPub}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    '--authorization-mode=Node,RBAC',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true',
    // API Priority and Fairness only shapes traffic; its bootstrap objects slow start-up.
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=1',
  ];
}

function kubeconfigYaml(server: string, certs: ControlPlaneCerts): string {
  const b64 = (file: string): string => Buffer.from(readPem(file)).toString('base64');
  // JSON is valid YAML; kubectl, helm and client-node all read it.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'minefleet-test', cluster: { server, 'certificate-authority-data': b64(certs.caCert) } }],
      users: [
        {
          name: 'minefleet-admin',
          user: { 'client-certificate-data': b64(certs.adminCert), 'client-key-data': b64(certs.adminKey) },
        },
      ],
      contexts: [{ name: 'minefleet-test', context: { cluster: 'minefleet-test', user: 'minefleet-admin', namespace: 'default' } }],
      'current-context': 'minefleet-test',
    },
    null,
    2,
  );
}

/** Minimal HTTPS GET with the admin client certificate, for readiness checks. */
class ApiProbe {
  private readonly ca: string;
  private readonly cert: string;
  private readonly key: string;

  constructor(
    private readonly server: string,
    certs: ControlPlaneCerts,
  ) {
    this.ca = readPem(certs.caCert);
    this.cert = readPem(certs.adminCert);
    this.key = readPem(certs.adminKey);
  }

  get(urlPath: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.get(`${this.server}${urlPath}`, { ca: this.ca, cert: this.cert, key: this.key, agent: false, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
      req.on('error', reject);
    });
  }
}
