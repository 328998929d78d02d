/**
 * Local demo on embedded defaults: a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager), litecoind in regtest behind a Stratum pool, FerretDB, Prometheus,
 * the minefleet operator and one miner, all on 127.0.0.1.
 *
 * There is no kubelet here, so the miner pods the operator creates stay Pending; the demo plays
 * the kubelet for one of them: it reads the fleet's rendered ConfigMap and pool Secret from the
 * API server and runs the miner process with them, exactly as the pod would, watching the same
 * runtime ConfigMap for live pool changes.
 *
 *   npx tsx scripts/demo.ts [--seconds N]     (run by scripts/demo.sh after setup)
 *
 * Without --seconds it runs until Ctrl-C. It exits non-zero when litecoind accepted no block
 * mined by the demo miner within the run (or within 120 s when running until Ctrl-C).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import {
  REPO_ROOT,
  binPath,
  freePort,
  makeTempDir,
  spawnProcess,
  startControlPlane,
  startFerretDB,
  startLitecoind,
  startPrometheus,
  waitFor,
  type ManagedProcess,
} from '../test/support/index.js';
import { startStratumPool } from '../test/support/stratum/index.js';

const NAMESPACE = 'mining';
const FLEET = 'demo-cpu';
const POOL = 'regtest-pool';
const BLOCK_DEADLINE_MS = 120_000;

const stops: Array<() => Promise<unknown>> = [];
const say = (msg: string) => process.stdout.write(`[demo] ${msg}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' } } });
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) throw new Error(`--seconds must be a positive number, got "${values.seconds}"`);
  const t0 = Date.now();
  const dir = makeTempDir('demo');

  say('starting the control plane, litecoind (regtest), FerretDB ...');
  const [cp, ltc, mongo] = await Promise.all([startControlPlane({ controllerManager: true }), startLitecoind(), startFerretDB()]);
  stops.push(
    () => cp.stop(),
    () => ltc.stop(),
    () => mongo.stop(),
  );
  const pool = await startStratumPool({ litecoind: ltc, difficulty: 0.001 });
  stops.unshift(() => pool.stop());
  say(`stratum pool ${pool.url} (payout ${pool.payoutAddress}); history store migrations ...`);
  await run(process.execPath, [join(REPO_ROOT, 'dist/operator/src/store/cli.js'), 'migrate', 'up', '--uri', mongo.uri]);

  const kubectl = (args: string[], input?: string) => check(cp.kubectl(args, input === undefined ? undefined : { input }), `kubectl ${args.join(' ')}`);
  await kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/miningpools.minefleet.io', 'crd/minerfleets.minefleet.io']);
  await kubectl(['create', 'namespace', NAMESPACE]);
  await kubectl(['apply', '-n', NAMESPACE, '-f', '-'], demoManifests(pool.url));

  const operatorMetricsPort = await freePort();
  const operatorProbePort = await freePort();
  const operator = spawnProcess({
    name: 'operator',
    command: process.execPath,
    args: [
      join(REPO_ROOT, 'dist/operator/src/main.js'),
      `--metrics-port=${operatorMetricsPort}`,
      `--probe-port=${operatorProbePort}`,
      '--bind-address=127.0.0.1',
      `--lease-namespace=${NAMESPACE}`,
    ],
    env: { ...process.env, KUBECONFIG: cp.kubeconfigPath, MINEFLEET_LOG_LEVEL: 'info' },
    logFile: join(dir, 'operator.log'),
  });
  stops.unshift(() => operator.stop());
  say('operator started; waiting for it to render the fleet ...');

  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  const configMap = await waitFor(() => core.readNamespacedConfigMap({ name: `${FLEET}-config`, namespace: NAMESPACE }), {
    timeoutMs: 60_000,
    description: `ConfigMap ${NAMESPACE}/${FLEET}-config from the operator (log: ${dir}/operator.log)`,
  });
  await waitFor(() => apps.readNamespacedDeployment({ name: FLEET, namespace: NAMESPACE }), {
    timeoutMs: 60_000,
    description: `Deployment ${NAMESPACE}/${FLEET}`,
  });

  const miner = await startMinerLikeItsPod(configMap.data?.['miner.yaml'], core, cp.kubeconfigPath, dir);
  stops.unshift(() => miner.process.stop());

  const prometheus = await startPrometheus({
    scrapeConfigs: [
      { job_name: 'minefleet-operator', static_configs: [{ targets: [`127.0.0.1:${operatorMetricsPort}`] }] },
      { job_name: 'minefleet-miner', static_configs: [{ targets: [`127.0.0.1:${miner.metricsPort}`], labels: { namespace: NAMESPACE, fleet: FLEET } }] },
    ],
  });
  stops.unshift(() => prometheus.stop());

  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s:`);
  const kubectlCmd = `KUBECONFIG=${cp.kubeconfigPath} ${binPath('kubectl')}`;
  process.stdout.write(
    [
      `  Kubernetes API     ${cp.server}`,
      `  kubectl            ${kubectlCmd} get mf,mp,deploy,cm -n ${NAMESPACE}`,
      `  Prometheus         ${prometheus.url}  (try: sum(rate(minefleet_miner_hashes_total[1m])), controller_runtime_reconcile_total)`,
      `  miner metrics      http://127.0.0.1:${miner.metricsPort}/metrics`,
      `  operator metrics   http://127.0.0.1:${operatorMetricsPort}/metrics   probes http://127.0.0.1:${operatorProbePort}/readyz`,
      `  litecoind RPC      ${ltc.rpcUrl} (user ${ltc.rpcUser})`,
      `  history (MongoDB)  ${mongo.uri}`,
      `  Stratum pool       ${pool.url}`,
      `  logs               ${dir}`,
      '',
    ].join('\n'),
  );

  const blocksFromDemo = () => pool.blocks.filter((b) => b.accepted).length;
  const report = async () => {
    const fleet = (await custom.getNamespacedCustomObject({
      group: 'minefleet.io',
      version: 'v1alpha1',
      namespace: NAMESPACE,
      plural: 'minerfleets',
      name: FLEET,
    })) as {
      status?: { activePool?: string; replicas?: number; readyReplicas?: number; conditions?: Array<{ type: string; status: string; reason?: string }> };
    };
    const hashrate = await prometheus.query('sum(minefleet_miner_hashrate_hashes_per_second{window="10s"})').catch(() => []);
    const accepted = pool.shares.filter((s) => s.result === 'accepted').length;
    const height = await ltc.rpc<number>('getblockcount');
    const conds = (fleet.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ''}`).join(' ');
    say(
      `t+${Math.round((Date.now() - t0) / 1000)}s  fleet ${FLEET}: activePool=${fleet.status?.activePool ?? '-'} pods ${fleet.status?.readyReplicas ?? 0}/${fleet.status?.replicas ?? 0} ready (no kubelet here) ${conds}` +
        ` | miner ${Number(hashrate[0]?.value[1] ?? 0).toFixed(0)} H/s, ${accepted} shares accepted | litecoind height ${height}, ${blocksFromDemo()} blocks accepted from the demo miner`,
    );
  };

  let stopRequested = false;
  process.once('SIGINT', () => (stopRequested = true));
  process.once('SIGTERM', () => (stopRequested = true));
  const deadline = seconds === undefined ? Infinity : t0 + seconds * 1000;
  let nextReport = Date.now() + 5_000;
  let sawBlock = false;
  while (!stopRequested && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    if (!sawBlock && blocksFromDemo() > 0) {
      sawBlock = true;
      say(`litecoind accepted a block found by the demo miner (t+${Math.round((Date.now() - t0) / 1000)}s)`);
    }
    if (seconds === undefined && !sawBlock && Date.now() - t0 > BLOCK_DEADLINE_MS) break;
    if (Date.now() >= nextReport) {
      nextReport = Date.now() + 15_000;
      await report().catch((e: unknown) => say(`status: ${(e as Error).message}`));
    }
  }
  await report().catch(() => undefined);
  if (!sawBlock) {
    say(`FAILED: litecoind accepted no block from the demo miner; see the logs in ${dir}`);
    return 1;
  }
  return 0;
}

/** What the kubelet would do for one pod: mount miner.yaml, inject the pool credentials as env. */
async function startMinerLikeItsPod(
  minerYaml: string | undefined,
  core: CoreV1Api,
  kubeconfigPath: string,
  dir: string,
): Promise<{ process: ManagedProcess; metricsPort: number }> {
  if (!minerYaml) throw new Error(`ConfigMap ${NAMESPACE}/${FLEET}-config has no miner.yaml`);
  const config = parse(minerYaml) as {
    metrics: { host: string; port: number };
    pools: Array<{ userEnv: string; passwordEnv: string }>;
    backend: { threads?: number };
  };
  const metricsPort = await freePort();
  config.metrics = { host: '127.0.0.1', port: metricsPort }; // a pod has its own network namespace; this process does not
  const configPath = join(dir, 'miner.yaml');
  writeFileSync(configPath, stringify(config));

  const secret = await core.readNamespacedSecret({ name: 'regtest-pool-login', namespace: NAMESPACE });
  const decode = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfigPath, POD_NAME: `${FLEET}-local-0`, POD_NAMESPACE: NAMESPACE };
  for (const p of config.pools) {
    env[p.userEnv] = decode('username');
    env[p.passwordEnv] = decode('password');
  }
  const child = spawnProcess({
    name: 'miner',
    command: process.execPath,
    args: [join(REPO_ROOT, 'dist/miner/src/main.js'), 'run', '--config', configPath],
    env,
    logFile: join(dir, 'miner.log'),
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok, {
    timeoutMs: 60_000,
    description: `miner /readyz (log: ${dir}/miner.log)`,
  });
  say(`miner running (pid ${child.pid}, ${config.backend.threads ?? 'all'} threads) with the fleet's rendered config`);
  return { process: child, metricsPort };
}

function demoManifests(poolUrl: string): string {
  const docs = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regtest-pool-login' }, type: 'Opaque', stringData: { username: 'demo-wallet', password: 'x' } },
    {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MiningPool',
      metadata: { name: POOL },
      spec: { url: poolUrl, coins: ['LTC'], credentialsSecretRef: { name: 'regtest-pool-login' } },
    },
    {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MinerFleet',
      metadata: { name: FLEET },
      spec: { replicas: 2, device: { kind: 'cpu' }, miner: { backend: 'cpu', threads: 1 }, pools: [{ name: POOL, priority: 0 }] },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

async function check<T extends { code: number | null; stdout: string; stderr: string }>(p: Promise<T>, what: string): Promise<T> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

async function run(command: string, args: string[]): Promise<void> {
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) =>
    execFile(command, args, (err, _stdout, stderr) => (err ? reject(new Error(`${args.slice(1).join(' ')}: ${stderr.trim() || err.message}`)) : resolve())),
  );
}

async function shutdown(): Promise<void> {
  for (const stop of stops) await stop().catch(() => undefined);
}

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
