import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ControlPlane } from './controlPlane.js';
import { controlPlaneCerts } from './certs.js';
import {
  bridgeExists,
  NODE_BRIDGE,
  NODE_IP,
  NODE_NAME,
  POD_SUBNET,
  readSysctls,
  removeNodeIpsets,
  removeNodeIptables,
  restoreSysctls,
  SERVICE_CIDR,
  setUpNodeNetwork,
  sh,
  tearDownNodeNetwork,
} from './nodeNetwork.js';
import { binPath, cacheDir } from './paths.js';
import { freePort } from './ports.js';
import { makeTempDir, pidAlive, removeTempDir, spawnProcess, type ManagedProcess } from './process.js';
import { VERSIONS } from './versions.js';
import { waitFor } from './wait.js';

export { NODE_BRIDGE, NODE_IP, NODE_NAME, POD_SUBNET, SERVICE_CIDR } from './nodeNetwork.js';

/**
 * A real node: containerd + runc + CNI bridge + kubelet + kube-proxy, registered with `cp`, and
 * kube-router's firewall controller enforcing NetworkPolicies (the bridge CNI enforces none).
 */
export interface Node {
  name: string;
  /** The node's InternalIP, on the harness's bridge; pods and test servers meet here. */
  ip: string;
  /** `ctr` against this node's containerd (namespace k8s.io). */
  ctr(args: string[]): Promise<string>;
  /** Imports a docker-archive or OCI tar into the node's image store. */
  importImage(tarFile: string): Promise<void>;
  pids(): number[];
  /** The temp dir holding containerd's root/state, the kubelet's root dir and the logs. */
  dir: string;
  timings: Record<string, number>;
  stop(): Promise<void>;
}

/** The pause image provision.sh builds (scripts/provision.sh, provision_pause). */
export const PAUSE_IMAGE = `minefleet.local/pause:${VERSIONS.kubernetes}`;
/** The project image `npm run image` builds. */
export const PROJECT_IMAGE = 'minefleet.local/minefleet:dev';
export const PROJECT_IMAGE_TAR = (): string => path.join(cacheDir(), 'images', 'minefleet.tar');

const STATE_DIR = '/run/minefleet-node';
const LOCK_FILE = path.join(STATE_DIR, 'lock.json');
const CGROUP_ROOT = 'minefleet-node';
const READY_TIMEOUT_MS = 180_000;

interface LockState {
  pid: number;
  dir: string;
  sysctls: Record<string, string>;
  netns: string[];
}

/**
 * Starts the node. One per machine (a lock in /run/minefleet-node): the bridge name, the cgroup
 * root and the iptables chains are fixed. Left-overs of a node whose process was killed are
 * cleaned up first. `cp` must have been started with `{ node: true }` (controllers a node needs,
 * advertise address NODE_IP).
 */
export async function startNode(cp: ControlPlane, opts: { images?: string[] } = {}): Promise<Node> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  mkdirSync(STATE_DIR, { recursive: true });
  await cleanUpLeftovers();
  const sysctls = readSysctls();
  const netnsBefore = listNetns();
  const dir = makeTempDir('node');
  const lock: LockState = { pid: process.pid, dir, sysctls, netns: netnsBefore };
  writeFileSync(LOCK_FILE, JSON.stringify(lock), { flag: 'wx' });

  const processes: ManagedProcess[] = [];
  let apiProxy: net.Server | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    apiProxy?.close();
    await tearDown(dir, processes, lock);
    await removeTempDir(dir);
  };
  try {
    makeCgroupRoot();
    await setUpNodeNetwork();
    timings.networkMs = Date.now() - started;

    // Pods reach the API server through the `kubernetes` Service: its endpoint is NODE_IP:port
    // (the control plane advertises NODE_IP) and this relay forwards to the loopback listener.
    const apiPort = Number(new URL(cp.server).port);
    apiProxy = await relay(NODE_IP, apiPort, '127.0.0.1', apiPort);

    const certs = await controlPlaneCerts();
    const sock = path.join(dir, 'containerd.sock');
    const ctr = (args: string[]): Promise<string> => sh('ctr', ['--address', sock, '--namespace', 'k8s.io', ...args]);
    mkdirSync(path.join(dir, 'cni'), { recursive: true });
    writeFileSync(path.join(dir, 'containerd.toml'), containerdConfig(dir, sock));
    writeFileSync(path.join(dir, 'cni', '10-minefleet.conflist'), cniConfig(dir));
    const containerd = spawnProcess({
      name: 'containerd',
      command: 'containerd',
      args: ['--config', path.join(dir, 'containerd.toml')],
      logFile: path.join(dir, 'containerd.log'),
    });
    processes.push(containerd);
    await containerd.waitUntilReady(async () => existsSync(sock) && (await sh('ctr', ['--address', sock, 'version'], { allowFail: true })).includes('Server'), {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: `containerd on ${sock}`,
    });
    timings.containerdReadyMs = Date.now() - started;
    const pauseTar = path.join(cacheDir(), 'images', `pause-${VERSIONS.kubernetes}.tar`);
    if (!existsSync(pauseTar)) throw new Error(`pause image not found at ${pauseTar}: run \`npm run provision\` first`);
    await Promise.all([pauseTar, ...(opts.images ?? [])].map((tar) => ctr(['images', 'import', tar])));
    timings.imagesImportedMs = Date.now() - started;

    const [kubeletPort, kubeletHealthz, proxyHealthz, proxyMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    writeFileSync(path.join(dir, 'kubelet.yaml'), kubeletConfig(dir, sock, certs.caCert, kubeletPort, kubeletHealthz));
    const kubelet = spawnProcess({
      name: 'kubelet',
      command: binPath('kubelet'),
      args: [
        `--config=${path.join(dir, 'kubelet.yaml')}`,
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--root-dir=${path.join(dir, 'kubelet')}`,
        `--cert-dir=${path.join(dir, 'kubelet-pki')}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
        '--v=1',
      ],
      logFile: path.join(dir, 'kubelet.log'),
    });
    processes.push(kubelet);
    writeFileSync(path.join(dir, 'kube-proxy.yaml'), kubeProxyConfig(cp.kubeconfigPath, proxyHealthz, proxyMetrics));
    const kubeProxy = spawnProcess({
      name: 'kube-proxy',
      command: binPath('kube-proxy'),
      args: [`--config=${path.join(dir, 'kube-proxy.yaml')}`, '--v=1'],
      logFile: path.join(dir, 'kube-proxy.log'),
    });
    processes.push(kubeProxy);

    await kubelet.waitUntilReady(
      async () => {
        const r = await cp.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return r.code === 0 && r.stdout === 'True';
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250, description: `node ${NODE_NAME} to be Ready` },
    );
    timings.nodeReadyMs = Date.now() - started;
    await kubeProxy.waitUntilReady(async () => (await sh('iptables-save', ['-t', 'nat'], { allowFail: true })).includes('default/kubernetes:https'), {
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 250,
      description: 'kube-proxy to program the kubernetes Service',
    });
    timings.kubeProxyReadyMs = Date.now() - started;

    // NetworkPolicy enforcement: kube-router's firewall controller alone (iptables + ipset). Not
    // kube-network-policies: it needs the kernel's nft `queue` expression (CONFIG_NFT_QUEUE),
    // missing here. The advisories for v2.1.0 (the version the module proxy serves) concern the
    // parts left off: GHSA-phqm-jgc3-qf8g (CVE-2026-32254, the service proxy trusting
    // externalIPs/LoadBalancer IPs; fixed in 2.8.0) and GHSA-v5mh-h5hx-7v92 (GoBGP's gRPC admin
    // port on the node IP, opened by the router with --run-router; fixed in 2.9.0). Its health
    // server (":20244", every interface) and metrics stay off; it adds filter rules and ipsets
    // only, no route, no NAT: the containment chains (mangle FORWARD) still see every packet.
    // Its own copy of the kubeconfig, in the node's dir: a left-over kube-router is found by it.
    const kubeRouterKubeconfig = path.join(dir, 'kube-router.kubeconfig');
    writeFileSync(kubeRouterKubeconfig, readFileSync(cp.kubeconfigPath));
    const kubeRouter = spawnProcess({
      name: 'kube-router',
      command: binPath('kube-router'),
      args: [
        '--run-firewall=true',
        '--run-router=false',
        '--run-service-proxy=false',
        '--enable-cni=false',
        `--kubeconfig=${kubeRouterKubeconfig}`,
        `--hostname-override=${NODE_NAME}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--enable-ipv6=false',
        '--health-port=0',
        '--metrics-port=0',
        '--v=1',
      ],
      logFile: path.join(dir, 'kube-router.log'),
    });
    processes.push(kubeRouter);
    // Its first full sync ends with the ACCEPT of policy-approved traffic in KUBE-ROUTER-FORWARD.
    await kubeRouter.waitUntilReady(
      async () =>
        (await sh('iptables-save', ['-t', 'filter'], { allowFail: true })).includes('-A KUBE-ROUTER-FORWARD -m comment --comment "rule to explicitly ACCEPT'),
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250, description: 'kube-router to program its firewall chains' },
    );
    timings.policyControllerReadyMs = Date.now() - started;
    timings.totalMs = Date.now() - started;

    return {
      name: NODE_NAME,
      ip: NODE_IP,
      dir,
      timings,
      ctr,
      importImage: async (tar) => {
        await ctr(['images', 'import', tar]);
      },
      pids: () => [...processes.filter((p) => p.running).map((p) => p.pid), ...shimPids(dir)],
      stop,
    };
  } catch (err) {
    const logs = processes.map((p) => `--- ${p.name} ---\n${p.tail(15)}`).join('\n');
    await stop().catch(() => undefined);
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

/** A TCP relay host:port → toHost:toPort (the API server listens on loopback only). */
function relay(host: string, port: number, toHost: string, toPort: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(toPort, toHost);
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.unref();
      resolve(server);
    });
  });
}

function containerdConfig(dir: string, sock: string): string {
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # root here lacks CAP_SYS_RESOURCE: lowering oom_score_adj below ours fails, and runc then
  # reports "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
    max_conf_num = 1
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'minefleet',
    plugins: [
      {
        type: 'bridge',
        bridge: NODE_BRIDGE,
        // The harness owns the bridge address; the plugin's gateway mode would enable forwarding globally.
        isGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: path.join(dir, 'cni-ipam'),
          ranges: [[{ subnet: POD_SUBNET, rangeStart: '10.250.0.10', rangeEnd: '10.250.0.250', gateway: NODE_IP }]],
          // Only the Service CIDR, via the node: no default route in pods.
          routes: [{ dst: SERVICE_CIDR, gw: NODE_IP }],
        },
      },
    ],
  });
}

function kubeletConfig(dir: string, sock: string, caCert: string, port: number, healthzPort: number): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_IP,
    port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort,
    containerRuntimeEndpoint: `unix://${sock}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/${CGROUP_ROOT}`,
    failSwapOn: false,
    failCgroupV1: false,
    podLogsDir: path.join(dir, 'pod-logs'),
    // The API server (logs, exec) authenticates with the admin client certificate.
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caCert } },
    authorization: { mode: 'AlwaysAllow' },
    clusterDomain: 'cluster.local',
    resolvConf: '',
    // A busy test machine must not evict pods or garbage-collect the imported images.
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    nodeStatusUpdateFrequency: '4s',
    nodeStatusReportFrequency: '10s',
    syncFrequency: '10s',
    fileCheckFrequency: '20s',
    maxPods: 60,
  });
}

function kubeProxyConfig(kubeconfig: string, healthzPort: number, metricsPort: number): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    mode: 'iptables',
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    healthzBindAddress: `127.0.0.1:${healthzPort}`,
    metricsBindAddress: `127.0.0.1:${metricsPort}`,
    // NodePorts only on the bridge address (never on another interface, never on loopback,
    // which would set route_localnet for every interface).
    nodePortAddresses: [`${NODE_IP}/32`],
    iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '0s' },
    // Leave the machine's conntrack sysctls alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** containerd-shim processes serving this node's containerd (they outlive containerd by design). */
function shimPids(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('/usr/bin/containerd-shim') && cmd.includes(dir)) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** The kubelet's cgroupRoot must exist in every hierarchy (cgroupfs driver, cgroup v1 here). */
function makeCgroupRoot(): void {
  for (const c of readdirSync('/sys/fs/cgroup')) {
    const base = path.join('/sys/fs/cgroup', c);
    if (!existsSync(path.join(base, 'cgroup.procs'))) continue; // not a hierarchy
    const root = path.join(base, CGROUP_ROOT);
    mkdirSync(root, { recursive: true });
    if (c === 'cpuset') {
      // a new cpuset is empty: give it the parent's CPUs and memory nodes
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(path.join(root, f), readFileSync(path.join(base, f), 'utf8'));
    }
  }
}

function cgroupDirs(): string[] {
  const dirs: string[] = [];
  let controllers: string[];
  try {
    controllers = readdirSync('/sys/fs/cgroup');
  } catch {
    return dirs;
  }
  for (const c of controllers) {
    const root = path.join('/sys/fs/cgroup', c, CGROUP_ROOT);
    if (existsSync(root)) dirs.push(root);
  }
  return dirs;
}

function walkCgroup(dir: string): string[] {
  const sub = readdirSync(dir)
    .map((n) => path.join(dir, n))
    .filter((p) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    });
  return [...sub.flatMap(walkCgroup), dir]; // children first
}

function killCgroupProcesses(): void {
  for (const root of cgroupDirs()) {
    for (const d of walkCgroup(root)) {
      try {
        for (const pid of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone
          }
        }
      } catch {
        // no procs file
      }
    }
  }
}

function removeCgroups(): void {
  for (const root of cgroupDirs()) {
    for (const d of walkCgroup(root)) {
      try {
        rmdirSync(d);
      } catch {
        // still busy: retried by the caller
      }
    }
  }
}

function mountsUnder(prefixes: string[]): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => Boolean(m) && prefixes.some((p) => m!.startsWith(p)));
  return mounts.reverse(); // innermost last mounted, unmount first
}

async function tearDown(dir: string, processes: ManagedProcess[], lock: LockState): Promise<void> {
  // The kubelet, kube-proxy and kube-router first (nothing may restart containers or rewrite
  // rules), then every process of the pods (cgroups under CGROUP_ROOT), the shims, containerd.
  for (const name of ['kubelet', 'kube-proxy', 'kube-router']) await Promise.all(processes.filter((p) => p.name === name).map((p) => p.kill()));
  killCgroupProcesses();
  for (const pid of shimPids(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await Promise.all(processes.map((p) => p.kill()));
  await waitFor(() => shimPids(dir).every((p) => !pidAlive(p)), { timeoutMs: 20_000, intervalMs: 100, description: 'containerd shims to exit' });
  // Pod network namespaces (containerd mounts them under /run/netns), then the mounts in our dir.
  const newNetns = listNetns().filter((n) => !lock.netns.includes(n));
  for (const m of mountsUnder([dir, ...newNetns.map((n) => `/run/netns/${n}`)])) await sh('umount', ['-l', m], { allowFail: true });
  for (const n of newNetns) rmSync(`/run/netns/${n}`, { force: true });
  await waitFor(
    () => {
      killCgroupProcesses();
      removeCgroups();
      return cgroupDirs().length === 0;
    },
    { timeoutMs: 20_000, intervalMs: 200, description: `cgroups /sys/fs/cgroup/*/${CGROUP_ROOT} to be removable` },
  ).catch(() => undefined);
  await removeNodeIptables(existsSync(path.join(cacheDir(), 'bin', 'kube-proxy')) ? binPath('kube-proxy') : undefined);
  await removeNodeIpsets();
  await tearDownNodeNetwork();
  restoreSysctls(lock.sysctls);
  rmSync(LOCK_FILE, { force: true });
}

/** A node whose test process died (SIGKILL) leaves its network and pods: take them down. */
async function cleanUpLeftovers(): Promise<void> {
  let lock: LockState | undefined;
  try {
    lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as LockState;
  } catch {
    lock = undefined;
  }
  if (lock && lock.pid !== process.pid && pidAlive(lock.pid)) {
    throw new Error(`a minefleet node is already running on this machine (pid ${lock.pid}, ${lock.dir}): one node per machine`);
  }
  if (lock) {
    for (const pid of shimPids(lock.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const proc of ['kubelet', 'kube-proxy', 'kube-router', 'containerd']) {
      for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
        try {
          const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
          if (cmd.includes(proc) && cmd.includes(lock.dir)) process.kill(Number(entry), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await tearDown(lock.dir, [], lock);
    rmSync(lock.dir, { recursive: true, force: true });
  } else if (await bridgeExists()) {
    await removeNodeIptables(undefined);
    await removeNodeIpsets();
    await tearDownNodeNetwork();
  }
}
