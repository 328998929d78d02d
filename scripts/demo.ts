/**
 * Local demo on a real node: a Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) and one real node (containerd, runc, CNI bridge,
 * kubelet, kube-proxy) started by the same harness code as the e2e tier (test/support), the
 * project image imported into the node, the chart installed by helm, and the shipped samples
 * (k8s/samples) applied with their pools pointing at litecoind-fed Stratum pools on the node's
 * bridge address. Prometheus (on the host) discovers and scrapes the pods by IP; the operator
 * writes mining history to FerretDB; litecoind accepts the blocks the miner pods find.
 *
 *   npx tsx scripts/demo.ts [--seconds N]     (run by scripts/demo.sh after setup)
 *   npx tsx scripts/demo.ts --attach KUBECONFIG --node-ip IP [--seconds N]
 *       (on a cluster with a node that is already running, e.g. the e2e tier's: test/e2e/demo.test.ts)
 *
 * There is one node per machine: the demo holds the same lock as the e2e tier
 * (flock /tmp/minefleet-node.flock) and waits for it. Without --seconds it runs until Ctrl-C;
 * with it, it stops N seconds after the miners are Ready. It exits non-zero when the miners
 * never got Ready or litecoind accepted no block from them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
import { localSamples } from '../test/support/samples.js';
import { startStratumPool } from '../test/support/stratum/index.js';

const NODE_FLOCK = '/tmp/minefleet-node.flock';
const NAMESPACE = 'mining';
const OPERATOR_NAMESPACE = 'minefleet-system';
/** Not "minefleet": the e2e tier installs its own release of that name (ClusterRole names follow it). */
const RELEASE = 'demo';
const FLEET = 'cpu-fleet';
const READY_TIMEOUT_MS = 300_000;
const BLOCK_DEADLINE_MS = 180_000;

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
  say(`operator Ready (t+${since()}); applying k8s/samples (pools, ${FLEET}, Secrets) with the local pools filled in`);
  const samples = localSamples({
    pools: { mergedUrl: merged.url, tlsUrl: tlsPool.url, tlsCaPem: readFileSync(tlsPool.caFile!, 'utf8'), tlsServerName: tlsPool.serverName! },
    // gpu-fleet and usb-asic-fleet need a GPU and USB sticks; the e2e tier runs them on fakes.
    fleets: [FLEET],
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
  const readyMiners = async (): Promise<number> => {
    const r = await kubectl(['-n', NAMESPACE, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`, '-o', 'json']);
    if (r.code !== 0) return 0;
    return (JSON.parse(r.stdout) as PodList).items.filter(
      (p) => p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
  };
  const want = Number((samples.find((o) => o.kind === 'MinerFleet' && o.metadata.name === FLEET)?.spec?.replicas as number | undefined) ?? 1);
  await waitFor(async () => (await writeTargets(), (await readyMiners()) >= want ? true : undefined), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 1_000,
    description: `${want} Ready miner pods of ${NAMESPACE}/${FLEET} (logs: ${dir})`,
  });
  const readyAt = Date.now();
  say(`${want} miner pods Running and Ready (t+${since()})`);

  const kubectlCmd = `${binPath('kubectl')} --kubeconfig=${cluster.kubeconfigPath}`;
  process.stdout.write(
    [
      `  kubectl            ${kubectlCmd} get mf,mp,pods -n ${NAMESPACE} -o wide`,
      `  Prometheus         ${prometheus.url}  (try: sum by (pod) (minefleet_miner_hashrate_hashes_per_second{window="10s"}))`,
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
  };

  let stopRequested = false;
  process.once('SIGINT', () => (stopRequested = true));
  process.once('SIGTERM', () => (stopRequested = true));
  const deadline = seconds === undefined ? Infinity : readyAt + seconds * 1000;
  let nextReport = Date.now();
  let nextTargets = Date.now();
  let sawBlock = false;
  while (!stopRequested && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    if (!sawBlock && blocks() > 0) {
      sawBlock = true;
      say(`litecoind accepted a block found by a miner pod (t+${since()})`);
    }
    if (!sawBlock && Date.now() - readyAt > BLOCK_DEADLINE_MS) break;
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
  return 0;
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
 * One node per machine: without --attach, run again under `flock` on the lock the e2e tier
 * takes, so the demo waits for a running e2e tier (or another demo) instead of failing.
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
