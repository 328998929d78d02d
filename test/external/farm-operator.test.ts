/**
 * An operator-driven farm of emulated ASICs, all on real components: kube-apiserver with the
 * MiningPool and MinerFleet controllers, a `device.kind: network` MinerFleet listing five
 * `miner emulate-asic` devices that really mine through two test stratum pools on litecoind
 * -regtest, and `miner supervise` run on the host the way a kubelet would run the fleet's pod:
 * with the config file from the operator's ConfigMap, the credentials resolved from the Secret
 * its Deployment references, and the runtime ConfigMap watched through the API server. Prometheus
 * scrapes the supervisor; the operator's decisions are recorded in FerretDB.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import { setupMiningPoolController } from '../../operator/src/controllers/miningpool/controller.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { isNotFound, KubeRest } from '../../operator/src/runtime/rest.js';
import { StoreAuditSink, type HistoryStore } from '../../operator/src/store/index.js';
import {
  installCrds,
  freePort,
  startControlPlane,
  startFerretDB,
  startLitecoind,
  startPrometheus,
  type ControlPlane,
  type FerretDB,
  type Litecoind,
  type Prometheus,
} from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { POOL_PASSWORD, waitFor } from '../miner/helpers.js';
import { openStore, tempDir, uniqueDbName } from '../store/helpers.js';
import { createNamespace } from '../operator/fixtures.js';
import { CgminerClient } from '../../miner/src/external/client.js';
import { startEmulators, startProc, type Proc } from './helpers.js';

type Any = any;
const NS = 'farm';
const FLEET = 'asics';
const POD = 'asics-supervisor-0';
const G = '/apis/minefleet.io/v1alpha1';
const ASICS = ['asic-0', 'asic-1', 'asic-2', 'asic-3', 'asic-4'];
const worker = (d: string) => `tester.${FLEET}.${POD}.${d}`;
const log = pino({ level: process.env.FARM_TEST_LOG ?? 'silent' });

let cp: ControlPlane;
let rest: KubeRest;
let ltc: Litecoind;
let fdb: FerretDB;
let store: HistoryStore;
let prom: Prometheus;
let a: StratumPool;
let b: StratumPool;
let aStopped = false;
let asics: Awaited<ReturnType<typeof startEmulators>>;
let sup: Proc;
let mgr: Manager;
let running: Promise<unknown>;
const spill = tempDir('farm');
const dir = mkdtempSync(join(tmpdir(), 'farm-operator-'));
const figures: string[] = [];

const get = async (p: string): Promise<Any | undefined> => {
  try {
    return await rest.get<Any>(p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const runtime = async () => JSON.parse((await get(`/api/v1/namespaces/${NS}/configmaps/${FLEET}-runtime`))?.data?.['runtime.json'] ?? '{}');
const accepted = (p: StratumPool, d: string, after: number) =>
  p.shares.filter((s) => s.worker === worker(d) && s.result === 'accepted' && s.receivedAt >= after).length;
const promValue = async (q: string) => Number((await prom.query(q))[0]?.value[1] ?? NaN);

beforeAll(async () => {
  [cp, ltc, fdb] = await Promise.all([startControlPlane(), startLitecoind(), startFerretDB()]);
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: NS },
    stringData: { username: 'tester', password: POOL_PASSWORD },
  });
  [a, b] = await Promise.all([startStratumPool({ litecoind: ltc, difficulty: 0.002 }), startStratumPool({ litecoind: ltc, difficulty: 0.002 })]);
  asics = await startEmulators(['--model', 'antminer-l3plus', '--hashrate', '200', '--pool-dead-seconds', '2'], ASICS.length);
  ({ store } = await openStore({
    uri: fdb.uri,
    dbName: uniqueDbName('farm'),
    buffer: { spillDir: spill.dir },
    writer: { batchSize: 10, flushIntervalMs: 50, retryInitialMs: 50, retryMaxMs: 500 },
  }));
  const audit = new StoreAuditSink(store, { actor: 'farm-operator', logger: log });
  mgr = new Manager({ kubeConfig: cp.kubeConfig, logger: log, probePort: 0, metricsPort: 0, bindHost: '127.0.0.1' });
  setupMiningPoolController(mgr, { concurrency: 4, audit }, log);
  setupMinerFleetController(mgr, { minerImage: 'minefleet:test', concurrency: 2, backoffMaxMs: 2000, audit }, log);
  running = mgr.start();
  for (const [name, p] of [
    ['a', a],
    ['b', b],
  ] as const) {
    await rest.create(`${G}/namespaces/${NS}/miningpools`, {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MiningPool',
      metadata: { name, namespace: NS },
      spec: {
        url: p.url,
        coins: ['LTC'],
        credentialsSecretRef: { name: 'creds' },
        probe: { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1, successThreshold: 1 },
      },
    });
  }
  await rest.create(`${G}/namespaces/${NS}/minerfleets`, {
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MinerFleet',
    metadata: { name: FLEET, namespace: NS },
    spec: {
      device: { kind: 'network', network: { targets: ASICS.map((name, i) => ({ name, host: '127.0.0.1', port: asics.ports[i]! })), pollIntervalSeconds: 1 } },
      miner: { backend: 'network' },
      pools: [
        { name: 'a', priority: 0 },
        { name: 'b', priority: 1 },
      ],
      failover: { failbackAfterSeconds: 3600 },
    },
  });

  // Play the kubelet for the supervisor pod: the operator's config file, env from the Deployment
  // with its Secret references resolved, the runtime ConfigMap through the API server.
  const cm = await waitFor('config ConfigMap', () => get(`/api/v1/namespaces/${NS}/configmaps/${FLEET}-config`), 60_000);
  const dep = await waitFor('supervisor Deployment', () => get(`/apis/apps/v1/namespaces/${NS}/deployments/${FLEET}`), 60_000);
  const container = dep.spec.template.spec.containers[0];
  expect(container.name).toBe('supervisor');
  expect(container.command.slice(2, 3)).toEqual(['supervise']);
  const secret = await rest.get<Any>(`/api/v1/namespaces/${NS}/secrets/creds`);
  const env: Record<string, string> = { KUBECONFIG: cp.kubeconfigPath, POD_NAME: POD, POD_NAMESPACE: NS };
  for (const e of container.env as Any[]) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = Buffer.from(secret.data[e.valueFrom.secretKeyRef.key], 'base64').toString('utf8');
  }
  const cfg = parseYaml(cm.data['miner.yaml']);
  const metricsPort = await freePort();
  cfg.metrics = { host: '127.0.0.1', port: metricsPort }; // the pod IP, here loopback
  const cfgPath = join(dir, 'miner.yaml');
  writeFileSync(cfgPath, stringify(cfg));
  sup = startProc(['supervise', '--config', cfgPath], env);
  await waitFor('supervisor metrics server', () => {
    if (!sup.alive()) throw new Error(`supervise exited: ${sup.stderr()}`);
    return sup.logs.some((l) => l.msg === 'metrics server listening');
  });
  prom = await startPrometheus({
    scrapeConfigs: [{ job_name: 'supervisor', static_configs: [{ targets: [`127.0.0.1:${metricsPort}`], labels: { fleet: FLEET } }] }],
  });
}, 300_000);

afterAll(async () => {
  for (const f of figures) console.log(`operator-driven farm: ${f}`);
  await sup?.stop();
  await prom?.stop();
  await mgr?.stop();
  await running?.catch(() => undefined);
  await store?.close().catch(() => undefined);
  await asics?.p.stop();
  await Promise.all([aStopped ? undefined : a?.stop(), b?.stop()]);
  await Promise.all([ltc?.stop(), fdb?.stop(), cp?.stop()]);
  spill.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('operator-driven farm of emulated ASICs', () => {
  it('the supervisor brings every ASIC onto the fleet pool; Prometheus sees them', async () => {
    const t0 = Date.now();
    await waitFor('every ASIC has accepted shares at a', () => ASICS.every((d) => accepted(a, d, 0) >= 1), 120_000, 100);
    figures.push(`${ASICS.length} emulated antminer-l3plus (200 H/s nominal) mining at pool a ${Date.now() - t0} ms after the supervisor was up`);
    expect(a.logins.filter((l) => ASICS.some((d) => l.worker === worker(d))).every((l) => l.password === POOL_PASSWORD)).toBe(true);
    await waitFor(
      'Prometheus: all five on pool a',
      async () => (await promValue('count(minefleet_miner_active_pool{pool="a"} == 1)')) === ASICS.length,
      60_000,
      500,
    );
    const rates = await prom.query('minefleet_miner_hashrate_hashes_per_second{window="60s"}');
    expect(rates).toHaveLength(ASICS.length);
    for (const r of rates) expect(Number(r.value[1])).toBeGreaterThan(10);
    figures.push(`hashrate per device (60 s window, Prometheus): ${rates.map((r) => `${r.metric.device} ${Number(r.value[1]).toFixed(0)} H/s`).join(', ')}`);
    const fleet = await get(`${G}/namespaces/${NS}/minerfleets/${FLEET}`);
    expect(fleet.status.devices).toBe(ASICS.length);
    expect(fleet.status.activePool).toBe('a');
  });

  it('pool a dies: every ASIC follows to the backup pool, the operator decides b, FerretDB records the failover', async () => {
    await a.stop();
    aStopped = true;
    const t0 = Date.now();
    await waitFor('every ASIC authorized at b', () => ASICS.every((d) => b.authorizedWorkers().includes(worker(d))), 120_000, 20);
    const follow = Date.now() - t0;
    await waitFor('operator publishes b', async () => (await runtime()).activePool === 'b', 120_000, 50);
    const decided = Date.now() - t0;
    await waitFor('every ASIC has accepted shares at b', () => ASICS.every((d) => accepted(b, d, t0) >= 1), 120_000, 50);
    const shares = Date.now() - t0;
    figures.push(
      `failover a -> b: all ${ASICS.length} ASICs authorized at b after ${follow} ms, operator's runtime.json says b after ${decided} ms, all with accepted shares at b after ${shares} ms`,
    );
    await waitFor(
      'Prometheus: all five on pool b',
      async () => (await promValue('count(minefleet_miner_active_pool{pool="b"} == 1)')) === ASICS.length,
      60_000,
      500,
    );
    const events = await waitFor(
      'failover event in FerretDB',
      async () => {
        await store.flush(10_000);
        const e = await store.database().collection(store.names.events).find({ fleet: FLEET, type: 'failover' }).toArray();
        return e.length > 0 ? e : undefined;
      },
      60_000,
      500,
    );
    expect(events[0]).toMatchObject({ namespace: NS, pool: 'b', actor: 'farm-operator' });
    expect(JSON.stringify(events)).not.toContain(POOL_PASSWORD);
  });

  it('pausing the fleet disables every ASIC (devices at 0 H/s), resuming starts them again', async () => {
    const t0 = Date.now();
    await rest.mergePatch(`${G}/namespaces/${NS}/minerfleets/${FLEET}`, { spec: { paused: true } });
    await waitFor('runtime.json suspended', async () => (await runtime()).suspended === true, 60_000, 50);
    await waitFor(
      'every ASIC reports its units disabled',
      async () => {
        for (const port of asics.ports) {
          const devs = (await new CgminerClient({ host: '127.0.0.1', port }).devs()).DEVS ?? [];
          if (devs.length === 0 || devs.some((u) => u.Enabled !== 'N')) return false;
        }
        return true;
      },
      60_000,
      50,
    );
    const off = Date.now() - t0;
    await waitFor('Prometheus: all five suspended', async () => (await promValue('sum(minefleet_miner_device_suspended)')) === ASICS.length, 60_000, 500);
    const dep = await get(`/apis/apps/v1/namespaces/${NS}/deployments/${FLEET}`);
    expect(dep.spec.replicas).toBe(1); // the supervisor stays to keep them off
    const t1 = Date.now();
    await rest.mergePatch(`${G}/namespaces/${NS}/minerfleets/${FLEET}`, { spec: { paused: false } });
    await waitFor('accepted shares from every ASIC after resume', () => ASICS.every((d) => accepted(b, d, t1) >= 1), 120_000, 50);
    figures.push(`pause: every ASIC disabled ${off} ms after the spec change; resume: every ASIC with accepted shares ${Date.now() - t1} ms after it`);
    expect(sup.alive()).toBe(true);
    expect(sup.stdout()).not.toContain(POOL_PASSWORD);
  });
});
