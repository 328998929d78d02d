/**
 * Local demo on a real node: a Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) and one real node (containerd, runc, CNI bridge,
 * kubelet, kube-proxy) started by the same harness code as the e2e tier (test/support), the
 * project image imported into the node, the chart installed by helm, and the shipped samples
 * (k8s/samples) applied with their pools pointing at litecoind-fed Stratum pools on the node's
 * bridge address. Three emulated ASICs (`miner emulate-asic`, processes of the built miner on
 * the host) serve their cgminer API on the bridge address too, standing in for the network fleet
 * sample's rack (asic-rack, same names and models): its supervisor pod pushes the demo pool to
 * them and they really mine on it. Prometheus (on the host) discovers and scrapes the pods by IP;
 * the operator writes mining history to FerretDB; litecoind accepts the blocks the miner pods find.
 *
 *   npx tsx scripts/demo.ts [--seconds N]     (run by scripts/demo.sh after setup)
 *   npx tsx scripts/demo.ts --attach KUBECONFIG --node-ip IP [--seconds N]
 *       (on a cluster with a node that is already running, e.g. the e2e tier's: test/e2e/demo.test.ts)
 *
 * There is one node per machine: without --attach the demo takes the node lock
 * (flock /tmp/minefleet-node.flock) and waits for it, so demos queue behind each other. The e2e
 * tier takes no flock: its globalSetup refuses to start while another node runs ("a minefleet node
 * is already running on this machine"); wrap a test run in `flock /tmp/minefleet-node.flock` to
 * queue it behind a demo. Without --seconds the demo runs until Ctrl-C; with it, it stops N
 * seconds after the miners are Ready (and not before the emulated ASICs have had their shares
 * accepted). It exits non-zero when the miners or the supervisor never got Ready, litecoind
 * accepted no block from the miner pods, or an emulated ASIC never got a share accepted on the
 * demo pool.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { stringify } from 'yaml';
import {
  PROJECT_IMAGE,
  PROJECT_IMAGE_TAR,
  REPO_ROOT,
  binPath,
  makeTempDir,
  runTool,
  startControlPlane,
  startFerretDB,
  startLitecoind,
  startNode,
  startPrometheus,
  waitFor,
  type ToolResult,
} from '../test/support/index.js';
import { localSamples, sampleNetworkTargets } from '../test/support/samples.js';
import { startStratumPool } from '../test/support/stratum/index.js';

const NODE_FLOCK = '/tmp/minefleet-node.flock';
const NAMESPACE = 'mining';
const OPERATOR_NAMESPACE = 'minefleet-system';
/** Not "minefleet": the e2e tier installs its own release of that name (ClusterRole names follow it). */
const RELEASE = 'demo';
const FLEET = 'cpu-fleet';
const READY_TIMEOUT_MS = 300_000;
const BLOCK_DEADLINE_MS = 180_000;
/** The network fleet sample, run on emulated ASICs (one per sample target, same names and models). */
const NETWORK_FLEET = 'asic-rack';
/** The pool the fleets mine on (priority 0 in the samples). */
const DEMO_POOL = 'merged-ltc-doge';
/** Each emulated ASIC's hashrate (H/s): small next to the node's 2 CPUs, as in test/e2e/asic-farm.test.ts. */
const ASIC_HASHRATE = 150;
/** From the supervisor pod Ready to an accepted share at the demo pool from every emulated ASIC. */
const DEVICES_DEADLINE_MS = 180_000;
const MINER_MAIN = path.join(REPO_ROOT, 'dist', 'miner', 'src', 'main.js');

const stops: Array<() => Promise<unknown>> = [];
const say = (msg: string) => process.stdout.write(`[demo] ${msg}\n`);

interface Cluster {
  kubeconfigPath: string;
  nodeIp: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, attach: { type: 'string' }, 'node-ip': { type: 'string' } } });
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) throw new Error(`--seconds must be a positive number, got "${values.seconds}"`);
  if ((values.attach === undefined) !== (values['node-ip'] === undefined)) throw new Error('--attach KUBECONFIG and --node-ip IP go together');
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const dir = makeTempDir('demo');

  let cluster: Cluster;
  if (values.attach !== undefined) {
    cluster = { kubeconfigPath: values.attach, nodeIp: values['node-ip']! };
    say(`attached to the cluster of ${cluster.kubeconfigPath} (node ${cluster.nodeIp})`);
  } else {
    const tar = PROJECT_IMAGE_TAR();
    if (!existsSync(tar)) {
      say('building the project image (npm run image) ...');
      const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'image.sh')], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('scripts/image.sh failed');
    }
    say('starting the control plane and the node (containerd, runc, CNI, kubelet, kube-proxy) ...');
    const cp = await startControlPlane({ controllerManager: true, scheduler: true, node: true });
    stops.push(() => cp.stop());
    const node = await startNode(cp, { images: [tar] });
    stops.unshift(() => node.stop());
    say(
      `node ${node.name} Ready at ${node.ip} in ${since()} (control plane ${JSON.stringify(cp.timings)}, node ${JSON.stringify(node.timings)}); ${PROJECT_IMAGE} imported`,
    );
    cluster = { kubeconfigPath: cp.kubeconfigPath, nodeIp: node.ip };
  }
  say(`kubectl: ${binPath('kubectl')} --kubeconfig=${cluster.kubeconfigPath} ...`);
  const kubectl = (args: string[], input?: string) => runTool(binPath('kubectl'), [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], { input });
  const helmEnv = {
    ...process.env,
    HELM_CACHE_HOME: path.join(dir, 'helm/cache'),
    HELM_CONFIG_HOME: path.join(dir, 'helm/config'),
    HELM_DATA_HOME: path.join(dir, 'helm/data'),
  };
  const helm = (args: string[]) => runTool(binPath('helm'), [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], { env: helmEnv, timeoutMs: 400_000 });

  say('starting litecoind (regtest), two Stratum pools (TCP and TLS) and FerretDB on the node address ...');
  const [ltc, mongo] = await Promise.all([startLitecoind(), startFerretDB({ host: cluster.nodeIp })]);
  stops.push(
    () => ltc.stop(),
    () => mongo.stop(),
  );
  const [merged, tlsPool] = await Promise.all([
    startStratumPool({ litecoind: ltc, difficulty: 0.001, host: cluster.nodeIp }),
    startStratumPool({ litecoind: ltc, difficulty: 0.001, host: cluster.nodeIp, tls: true }),
  ]);
  stops.unshift(
    () => merged.stop(),
    () => tlsPool.stop(),
  );
  await check(
    runTool(process.execPath, [path.join(REPO_ROOT, 'dist/operator/src/store/cli.js'), 'migrate', 'up', '--uri', mongo.uri]),
    'history store migrations',
  );

  // The network fleet's ASICs: fresh emulated units (no pool) whose cgminer API listens on the
  // bridge address, where the supervisor pod reaches them (its NetworkPolicy allows each target's
  // address/32 and port). One emulator process per model of the sample's targets.
  const targets = sampleNetworkTargets(NETWORK_FLEET);
  const byModel = new Map<string, string[]>();
  for (const t of targets) byModel.set(t.model ?? 'antminer-l3plus', [...(byModel.get(t.model ?? 'antminer-l3plus') ?? []), t.name]);
  const asicAt: Record<string, { host: string; port: number }> = {};
  for (const [model, names] of byModel) {
    const emu = await startEmulatedAsics(cluster.nodeIp, model, names.length, path.join(dir, `emulate-asic-${model}.log`));
    stops.unshift(() => emu.stop());
    names.forEach((n, i) => (asicAt[n] = { host: cluster.nodeIp, port: emu.ports[i]! }));
  }
  const deviceNames = targets.map((t) => t.name);
  say(
    `${deviceNames.length} emulated ASICs (miner emulate-asic, ${ASIC_HASHRATE} H/s each) for ${NETWORK_FLEET}: ` +
      targets.map((t) => `${t.name} (${t.model ?? 'antminer-l3plus'}) at ${asicAt[t.name]!.host}:${asicAt[t.name]!.port}`).join(', '),
  );

  // Removed again in --attach mode, where the cluster outlives the demo.
  if (values.attach !== undefined) {
    stops.unshift(async () => {
      await helm(['uninstall', RELEASE, '-n', OPERATOR_NAMESPACE, '--wait', '--timeout=120s']);
      await kubectl(['delete', 'namespace', NAMESPACE, OPERATOR_NAMESPACE, '--wait=true', '--timeout=120s']);
    });
  }
  await check(kubectl(['create', 'namespace', NAMESPACE]), `kubectl create namespace ${NAMESPACE}`);
  await check(kubectl(['create', 'namespace', OPERATOR_NAMESPACE]), `kubectl create namespace ${OPERATOR_NAMESPACE}`);
  await check(
    kubectl(['-n', OPERATOR_NAMESPACE, 'create', 'secret', 'generic', 'demo-history-mongodb', `--from-literal=uri=${mongo.uri}`]),
    'kubectl create secret demo-history-mongodb',
  );
  const valuesFile = path.join(dir, 'values.yaml');
  writeFileSync(
    valuesFile,
    stringify({
      image: { repository: PROJECT_IMAGE.split(':')[0], tag: PROJECT_IMAGE.split(':')[1], pullPolicy: 'Never' },
      minerImage: { pullPolicy: 'Never' },
      replicaCount: 1,
      watchNamespaces: [NAMESPACE],
      history: {
        // The chart mounts this Secret key as the file the operator reads the store URI from.
        mongodb: { uriSecretRef: { name: 'demo-history-mongodb', key: 'uri' } },
        // A sample every 10 s window (default 60 s): the demo shows the history filling up.
        collector: { intervalSeconds: 5, windowSeconds: 10 },
      },
    }),
  );
  say(`helm install ${RELEASE} helm/minefleet -n ${OPERATOR_NAMESPACE} ...`);
  const install = await helm([
    'install',
    RELEASE,
    path.join(REPO_ROOT, 'helm', 'minefleet'),
    '-n',
    OPERATOR_NAMESPACE,
    '--create-namespace',
    '-f',
    valuesFile,
    '--wait',
    '--timeout=300s',
  ]);
  if (install.code !== 0) {
    // What the operator pod says is the useful part of a failed --wait.
    const pods = await kubectl(['-n', OPERATOR_NAMESPACE, 'describe', 'pods']);
    const logs = await kubectl(['-n', OPERATOR_NAMESPACE, 'logs', '--tail=40', '-l', 'app.kubernetes.io/component=operator']);
    throw new Error(
      `helm install failed (exit ${install.code}): ${install.stderr.trim()}\n--- operator pods ---\n${pods.stdout.split('\n').slice(-25).join('\n')}\n--- operator log ---\n${logs.stdout}${logs.stderr}`,
    );
  }
  say(`operator Ready (t+${since()}); applying k8s/samples (pools, ${FLEET}, ${NETWORK_FLEET}, Secrets) with the local pools and ASICs filled in`);
  const samples = localSamples({
    pools: { mergedUrl: merged.url, tlsUrl: tlsPool.url, tlsCaPem: readFileSync(tlsPool.caFile!, 'utf8'), tlsServerName: tlsPool.serverName! },
    // gpu-fleet and usb-asic-fleet need a GPU and USB sticks; the e2e tier runs them on fakes.
    fleets: [FLEET, NETWORK_FLEET],
    networkTargets: { [NETWORK_FLEET]: asicAt },
  });
  await check(kubectl(['apply', '-n', NAMESPACE, '-f', '-'], samples.map((o) => stringify(o)).join('---\n')), 'kubectl apply samples');

  // Prometheus scrapes the pods by IP on their port named "metrics". (Debian's Prometheus has no
  // Kubernetes discovery, so the demo writes the pod list into a file_sd file as it changes.)
  const targetsFile = path.join(dir, 'pods.json');
  const writeTargets = async (): Promise<void> => {
    const r = await kubectl(['get', 'pods', '-A', '-o', 'json']);
    if (r.code !== 0) return;
    type P = {
      metadata: { name: string; namespace: string; labels?: Record<string, string> };
      spec: { containers: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> };
      status: { podIP?: string; phase?: string };
    };
    const groups = (JSON.parse(r.stdout) as { items: P[] }).items
      .filter((p) => [NAMESPACE, OPERATOR_NAMESPACE].includes(p.metadata.namespace) && p.status.podIP && p.status.phase === 'Running')
      .flatMap((p) =>
        p.spec.containers.flatMap((ctr) =>
          (ctr.ports ?? [])
            .filter((port) => port.name === 'metrics')
            .map((port) => ({
              targets: [`${p.status.podIP}:${port.containerPort}`],
              labels: {
                namespace: p.metadata.namespace,
                pod: p.metadata.name,
                ...(p.metadata.labels?.['minefleet.io/fleet'] ? { fleet: p.metadata.labels['minefleet.io/fleet'] } : {}),
              },
            })),
        ),
      );
    writeFileSync(`${targetsFile}.tmp`, JSON.stringify(groups));
    renameSync(`${targetsFile}.tmp`, targetsFile);
  };
  await writeTargets();
  const prometheus = await startPrometheus({
    scrapeConfigs: [{ job_name: 'minefleet-pods', file_sd_configs: [{ files: [targetsFile], refresh_interval: '2s' }] }],
  });
  stops.unshift(() => prometheus.stop());

  type PodList = { items: Array<{ metadata: { name: string }; status: { phase?: string; conditions?: Array<{ type: string; status: string }> } }> };
  const readyPods = async (fleet: string): Promise<string[]> => {
    const r = await kubectl(['-n', NAMESPACE, 'get', 'pods', '-l', `minefleet.io/fleet=${fleet}`, '-o', 'json']);
    if (r.code !== 0) return [];
    return (JSON.parse(r.stdout) as PodList).items
      .filter((p) => p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => p.metadata.name);
  };
  const readyMiners = async (): Promise<number> => (await readyPods(FLEET)).length;
  const want = Number((samples.find((o) => o.kind === 'MinerFleet' && o.metadata.name === FLEET)?.spec?.replicas as number | undefined) ?? 1);
  await waitFor(async () => (await writeTargets(), (await readyMiners()) >= want ? true : undefined), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 1_000,
    description: `${want} Ready miner pods of ${NAMESPACE}/${FLEET} (logs: ${dir})`,
  });
  const readyAt = Date.now();
  say(`${want} miner pods Running and Ready (t+${since()})`);
  const supervisor = await waitFor(async () => (await writeTargets(), (await readyPods(NETWORK_FLEET))[0]), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 1_000,
    description: `a Ready supervisor pod of ${NAMESPACE}/${NETWORK_FLEET} (logs: ${dir})`,
  });
  const supervisorReadyAt = Date.now();
  say(`network fleet ${NETWORK_FLEET}: supervisor pod ${supervisor} Running and Ready, driving ${deviceNames.length} emulated ASICs (t+${since()})`);

  const kubectlCmd = `${binPath('kubectl')} --kubeconfig=${cluster.kubeconfigPath}`;
  process.stdout.write(
    [
      `  kubectl            ${kubectlCmd} get mf,mp,pods -n ${NAMESPACE} -o wide`,
      `  Prometheus         ${prometheus.url}  (try: sum by (pod) (minefleet_miner_hashrate_hashes_per_second{window="10s"}))`,
      `                     (the ASICs: minefleet_miner_hashrate_hashes_per_second{fleet="${NETWORK_FLEET}",window="60s"} by device)`,
      `  emulated ASICs     ${targets.map((t) => `${t.name} ${asicAt[t.name]!.host}:${asicAt[t.name]!.port}`).join(', ')} (cgminer API, e.g. echo '{"command":"pools"}' | nc HOST PORT)`,
      `  litecoind RPC      ${ltc.rpcUrl} (user ${ltc.rpcUser})`,
      `  history (MongoDB)  ${mongo.uri}`,
      `  Stratum pools      ${merged.url} (merged-ltc-doge), ${tlsPool.url} (ltc-tls)`,
      `  logs               ${dir}`,
      '',
    ].join('\n'),
  );

  const mongoClient = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 5_000 });
  stops.unshift(() => mongoClient.close());
  const blocks = () => [...merged.blocks, ...tlsPool.blocks].filter((b) => b.accepted).length;
  /** Shares the demo pool accepted from an emulated ASIC (its login ends in .<device name>: the supervisor's per-device worker). */
  const deviceAccepted = (d: string) => merged.shares.filter((s) => s.result === 'accepted' && s.worker.endsWith(`.${d}`)).length;
  /** Per device, from the supervisor pod's metrics in Prometheus: the pool it mines on, its 60 s hashrate, its accepted shares. */
  const deviceReport = async (): Promise<string> => {
    const sel = `fleet="${NETWORK_FLEET}",namespace="${NAMESPACE}"`;
    const [active, rate, accepted] = await Promise.all([
      prometheus.query(`minefleet_miner_active_pool{${sel}} == 1`),
      prometheus.query(`max by (device) (minefleet_miner_hashrate_hashes_per_second{${sel},window="60s"})`),
      prometheus.query(`sum by (device, pool) (minefleet_miner_shares_total{${sel},result="accepted"})`),
    ]);
    return deviceNames
      .map((d) => {
        const pool = active.find((x) => x.metric.device === d)?.metric.pool;
        const hs = rate.find((x) => x.metric.device === d)?.value[1];
        if (pool === undefined || hs === undefined) return `${d} no metrics yet`;
        const n = accepted.filter((x) => x.metric.device === d && x.metric.pool === pool).reduce((sum, x) => sum + Number(x.value[1]), 0);
        return `${d} on ${pool} ${Number(hs).toFixed(0)} H/s ${n.toFixed(0)} shares accepted`;
      })
      .join(', ');
  };
  const historyCounts = async (): Promise<string> => {
    const parts: string[] = [];
    const { databases } = await mongoClient.db().admin().listDatabases();
    for (const { name } of databases.filter((d) => !['admin', 'local', 'config'].includes(d.name))) {
      const db = mongoClient.db(name);
      for (const c of await db.listCollections({}, { nameOnly: true }).toArray())
        if (!c.name.startsWith('system.')) parts.push(`${c.name}=${await db.collection(c.name).countDocuments()}`);
    }
    return parts.join(' ') || '(empty)';
  };
  const report = async () => {
    const get = await kubectl(['get', 'mf,mp,pods', '-n', NAMESPACE, '-o', 'wide']);
    process.stdout.write(`\n$ kubectl get mf,mp,pods -n ${NAMESPACE} -o wide\n${get.stdout}${get.stderr}`);
    const hashrate = await prometheus.query('sum(minefleet_miner_hashrate_hashes_per_second{window="10s"})').catch(() => []);
    const up = await prometheus.query('count(up{job="minefleet-pods"} == 1)').catch(() => []);
    const accepted = [...merged.shares, ...tlsPool.shares].filter((s) => s.result === 'accepted').length;
    const height = await ltc.rpc<number>('getblockcount');
    const history = await historyCounts().catch((e: unknown) => `unavailable (${(e as Error).message})`);
    say(
      `t+${since()}  Prometheus: ${Number(up[0]?.value[1] ?? 0)} pods up, miners ${Number(hashrate[0]?.value[1] ?? 0).toFixed(0)} H/s | ` +
        `${accepted} shares accepted | litecoind height ${height}, ${blocks()} blocks accepted from the miner pods | history store: ${history}`,
    );
    const devices = await deviceReport().catch((e: unknown) => `unavailable (${(e as Error).message})`);
    say(
      `t+${since()}  network fleet ${NETWORK_FLEET} (supervisor metrics in Prometheus): ${devices} | ` +
        `${DEMO_POOL} accepted from the ASICs: ${deviceNames.map((d) => `${d}=${deviceAccepted(d)}`).join(' ')}`,
    );
  };

  let stopRequested = false;
  process.once('SIGINT', () => (stopRequested = true));
  process.once('SIGTERM', () => (stopRequested = true));
  const deadline = seconds === undefined ? Infinity : readyAt + seconds * 1000;
  let nextReport = Date.now();
  let nextTargets = Date.now();
  let sawBlock = false;
  let sawDevices = false;
  // --seconds does not cut the wait for the ASICs' first shares short (DEVICES_DEADLINE_MS does).
  while (!stopRequested && (Date.now() < deadline || !sawDevices)) {
    await new Promise((r) => setTimeout(r, 250));
    if (!sawBlock && blocks() > 0) {
      sawBlock = true;
      say(`litecoind accepted a block found by a miner pod (t+${since()})`);
    }
    if (!sawBlock && Date.now() - readyAt > BLOCK_DEADLINE_MS) break;
    if (!sawDevices && deviceNames.every((d) => deviceAccepted(d) > 0)) {
      sawDevices = true;
      say(`network fleet ${NETWORK_FLEET}: all ${deviceNames.length} emulated ASICs mining on ${DEMO_POOL}, shares accepted by the pool (t+${since()})`);
    }
    if (!sawDevices && Date.now() - supervisorReadyAt > DEVICES_DEADLINE_MS) break;
    if (Date.now() >= nextTargets) {
      nextTargets = Date.now() + 5_000;
      await writeTargets().catch((e: unknown) => say(`pod targets: ${(e as Error).message}`));
    }
    if (Date.now() >= nextReport) {
      nextReport = Date.now() + 15_000;
      await report().catch((e: unknown) => say(`status: ${(e as Error).message}`));
    }
  }
  await report().catch(() => undefined);
  if (!sawBlock) {
    say(`FAILED: litecoind accepted no block from the miner pods; see the logs in ${dir}`);
    return 1;
  }
  if (!sawDevices && !stopRequested) {
    const missing = deviceNames.filter((d) => deviceAccepted(d) === 0);
    say(`FAILED: ${DEMO_POOL} accepted no share from the emulated ASIC(s) ${missing.join(', ')}; see the logs in ${dir}`);
    return 1;
  }
  return 0;
}

/**
 * `miner emulate-asic` (the built miner, dist/) with `count` devices of `model` listening on
 * `host` (ports picked by the kernel); its JSON log goes to `logFile`. It only talks to the pools
 * the supervisor gives it (the demo's, on the same address).
 */
async function startEmulatedAsics(host: string, model: string, count: number, logFile: string): Promise<{ ports: number[]; stop: () => Promise<void> }> {
  const args = ['emulate-asic', '--host', host, '--port', '0', '--count', String(count), '--model', model, '--hashrate', String(ASIC_HASHRATE)];
  const proc = spawn(process.execPath, [MINER_MAIN, ...args], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let alive = true;
  void exited.then(() => (alive = false));
  const ports: number[] = [];
  let partial = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    log.write(chunk);
    if (ports.length >= count) return;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        const l = JSON.parse(line) as { msg?: string; port?: number };
        if (l.msg === 'emulated ASIC API listening' && typeof l.port === 'number') ports.push(l.port);
      } catch {
        // not a log line
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log.write(chunk);
    stderr = (stderr + chunk).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (alive) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    await new Promise((r) => log.end(r));
  };
  try {
    await waitFor(
      () => {
        if (!alive) throw new Error(`miner emulate-asic (${model}) exited: ${stderr.trim()}`);
        return ports.length >= count ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: `${count} emulated ${model} ASIC(s) listening on ${host} (log: ${logFile})` },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { ports, stop };
}

async function check(p: Promise<ToolResult>, what: string): Promise<ToolResult> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

async function shutdown(): Promise<void> {
  for (const stop of stops) await stop().catch(() => undefined);
}

/**
 * One node per machine: without --attach, run again under `flock` on the node lock, so the demo
 * waits for another demo (or a test run wrapped in `flock /tmp/minefleet-node.flock`) instead of
 * failing. The e2e tier takes no flock itself (its globalSetup refuses to start while a node runs).
 */
function underNodeLock(): boolean {
  if (process.argv.includes('--attach') || process.env.MINEFLEET_NODE_FLOCKED === '1') return true;
  process.stdout.write(`[demo] waiting for the node lock (flock ${NODE_FLOCK}) ...\n`);
  // Ctrl-C reaches the child too (same process group); this process waits for its clean stop.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  const r = spawnSync('flock', [NODE_FLOCK, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MINEFLEET_NODE_FLOCKED: '1' },
  });
  process.exit(r.status ?? 1);
}

if (underNodeLock()) {
  main()
    .then(async (code) => {
      say('stopping ...');
      await shutdown();
      process.exit(code);
    })
    .catch(async (err: unknown) => {
      process.stderr.write(`[demo] error: ${(err as Error).stack ?? String(err)}\n`);
      await shutdown();
      process.exit(1);
    });
}
