/**
 * A farm of networked ASICs on the real node: six `miner emulate-asic` devices run on the host and
 * serve their cgminer API on the node's bridge address, so the supervisor pod reaches them the way
 * it reaches ASICs on a farm's LAN. They really mine scrypt through two litecoind-fed test pools
 * (on the bridge address too). The chart's operator renders a `device.kind: network` MinerFleet as
 * its supervisor pod, whose NetworkPolicy kube-router enforces: it must still reach the devices'
 * API ports, the pools and the API server. Then: the collector fills status.hashrate and
 * status.shares and stores one sample row per device in FerretDB; pool a dies and every device
 * follows to pool b; the price feed (served by this test) drops to nothing and the economics
 * disable every device through the supervisor, and enable them again when it recovers. Finally the
 * supervisor's logs and /metrics, the operator's log, every Event, the status of every object and
 * every stored document are searched for the pool password, the litecoind RPC password and the
 * history store URI's password.
 *
 * Beside the farm runs a usb fleet whose external miner is the same emulator in the pod's `miner`
 * container (the role of bfgminer/cgminer driving a USB stick, its device node made by mknod) with
 * the supervisor sidecar: it goes through the same steps (onto pool a, into status and FerretDB,
 * over to pool b, suspended by the economics and back), and Prometheus on the host scrapes both
 * fleets' supervisors by pod IP.
 *
 * One supervisor pod drives all six devices (spec.device.network.targetsPerPod defaults to 1000).
 * spec.replicas is the fleet's on/off switch and the CRD refuses more than 1: the pod count follows
 * targetsPerPod instead, each pod with its own devices (asic-shard.test.ts); the last case shows
 * that refusal.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgminerClient } from '../../miner/src/external/client.js';
import { parsePools, parseUnits } from '../../miner/src/external/snapshot.js';
import {
  PROJECT_IMAGE,
  REPO_ROOT,
  startFerretDB,
  startLitecoind,
  startPrometheus,
  waitFor,
  type FerretDB,
  type Litecoind,
  type Prometheus,
} from '../support/index.js';
import { POD_SUBNET } from '../support/nodeNetwork.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { metricValue, startEmulators } from '../external/helpers.js';
import { e2eCluster, ok } from './cluster.js';

type Any = any;
const NS = 'e2e-asics';
const OPERATOR_NS = 'e2e-asics-operator';
const FLEET = 'farm';
const USER = 'farm-wallet';
const DEVICES = ['asic-0', 'asic-1', 'asic-2', 'asic-3', 'asic-4', 'asic-5'];
const NOMINAL_HS = 150;
const USB_FLEET = 'stick';
const USB_DEV = '/dev/minefleet-e2e-asics-tty0';
const POOL_PASSWORD = `asic-pool-pw-${randomBytes(6).toString('hex')}`;
const MONGO_PASSWORD = `asic-mongo-pw-${randomBytes(6).toString('hex')}`;

describe('a farm of emulated ASICs driven by a supervisor pod on the real node', () => {
  const c = e2eCluster();
  const helmHome = mkdtempSync(path.join(os.tmpdir(), 'minefleet-e2e-asics-helm-'));
  const figures: Record<string, unknown> = {};
  const captured: Array<{ what: string; text: string }> = [];
  let ltc: Litecoind;
  let fdb: FerretDB;
  let a: StratumPool;
  let b: StratumPool;
  let aStopped = false;
  let asics: Awaited<ReturnType<typeof startEmulators>> | undefined;
  let feed: http.Server;
  let price = 100;
  let prom: Prometheus | undefined;

  const kjson = async (args: string[]): Promise<Any> => JSON.parse(await ok(c.kubectl([...args, '-o', 'json'])));
  const fleet = (): Promise<Any> => kjson(['-n', NS, 'get', 'mf', FLEET]);
  const supervisorPods = async (): Promise<Any[]> =>
    ((await kjson(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`])).items as Any[]).filter((p) => !p.metadata.deletionTimestamp);
  const readySupervisor = async (): Promise<Any | undefined> =>
    (await supervisorPods()).find((p) => p.status.podIP && p.status.conditions?.some((x: Any) => x.type === 'Ready' && x.status === 'True'));
  const metricsPortOf = (pod: Any): number => pod.spec.containers.flatMap((ct: Any) => ct.ports ?? []).find((p: Any) => p.name === 'metrics').containerPort;
  const supervisorMetrics = async (pod: Any): Promise<string> => {
    const res = await fetch(`http://${pod.status.podIP}:${metricsPortOf(pod)}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const device = (d: string) => new CgminerClient({ host: c.nodeIp, port: asics!.ports[DEVICES.indexOf(d)]!, timeoutMs: 3000 });
  /** The pool URL each device itself says it mines on (cgminer `pools`, Stratum Active). */
  const activeUrls = async (): Promise<Array<string | undefined>> =>
    Promise.all(DEVICES.map(async (d) => parsePools(await device(d).pools()).find((p) => p.active)?.url));
  const isWorkerOf = (login: string, d: string) => login.startsWith(`${USER}.`) && login.endsWith(`.${d}`);
  const acceptedAt = (p: StratumPool, d: string, after: number) =>
    p.shares.filter((s) => isWorkerOf(s.worker, d) && s.result === 'accepted' && s.receivedAt >= after).length;
  const usbPods = async (): Promise<Any[]> =>
    ((await kjson(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${USB_FLEET}`])).items as Any[]).filter((p) => !p.metadata.deletionTimestamp);
  const readyUsbPod = async (): Promise<Any | undefined> =>
    (await usbPods()).find((p) => p.status.podIP && p.status.containerStatuses?.length === 2 && p.status.containerStatuses.every((cs: Any) => cs.ready));
  /** The usb fleet's external miner logs in as <user>.<fleet>.<pod>.usb. */
  const isUsbWorker = (login: string) => login.startsWith(`${USER}.${USB_FLEET}.`) && login.endsWith('.usb');
  const usbAcceptedAt = (p: StratumPool, after: number) =>
    p.shares.filter((s) => isUsbWorker(s.worker) && s.result === 'accepted' && s.receivedAt >= after).length;
  const allUnits = async (enabled: boolean): Promise<boolean> => {
    for (const d of DEVICES) {
      const units = parseUnits(await device(d).devs());
      if (units.length === 0 || units.some((u) => u.enabled !== enabled)) return false;
    }
    return true;
  };

  /** Logs and /metrics of every supervisor pod now. */
  const captureSupervisors = async (when: string) => {
    for (const p of [...(await supervisorPods()), ...(await usbPods())]) {
      const name = p.metadata.name as string;
      for (const prev of [false, true]) {
        const r = await c.kubectl(['-n', NS, 'logs', name, '--all-containers', ...(prev ? ['--previous'] : [])]);
        if (r.code === 0) captured.push({ what: `${when}: supervisor ${name} log${prev ? ' (previous)' : ''}`, text: r.stdout });
      }
      if (p.status.podIP) captured.push({ what: `${when}: supervisor ${name} /metrics`, text: await supervisorMetrics(p) });
    }
  };

  beforeAll(async () => {
    [ltc, fdb] = await Promise.all([startLitecoind({ rpcHost: { address: c.nodeIp, allowIp: POD_SUBNET } }), startFerretDB({ host: c.nodeIp })]);
    [a, b] = await Promise.all([
      startStratumPool({ litecoind: ltc, difficulty: 0.002, host: c.nodeIp }),
      startStratumPool({ litecoind: ltc, difficulty: 0.002, host: c.nodeIp }),
    ]);
    // Fresh units with no pool: the supervisor configures them. A pool is dead for the device
    // after 2 s without a reply, as cgminer decides (it then moves to its next pool on its own).
    asics = await startEmulators(
      ['--host', c.nodeIp, '--model', 'antminer-l3plus', '--hashrate', String(NOMINAL_HS), '--pool-dead-seconds', '2'],
      DEVICES.length,
    );
    feed = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ litecoin: { usd: price } }));
    });
    await new Promise<void>((r) => feed.listen(0, c.nodeIp, r));
    const feedUrl = `http://${c.nodeIp}:${(feed.address() as AddressInfo).port}/price`;

    await ok(c.kubectl(['create', 'namespace', NS]));
    await ok(c.kubectl(['create', 'namespace', OPERATOR_NS]));
    const mongoUri = fdb.uri.replace('mongodb://', `mongodb://reporter:${MONGO_PASSWORD}@`) + 'minefleet?authMechanism=PLAIN';
    await ok(c.kubectl(['-n', OPERATOR_NS, 'create', 'secret', 'generic', 'history-mongodb', `--from-literal=uri=${mongoUri}`]));
    const values = {
      image: { repository: 'minefleet.local/minefleet', tag: 'dev', pullPolicy: 'Never' },
      minerImage: { pullPolicy: 'Never' },
      replicaCount: 1,
      watchNamespaces: [NS],
      history: { mongodb: { uriSecretRef: { name: 'history-mongodb', key: 'uri' } }, collector: { intervalSeconds: 5, windowSeconds: 10 } },
    };
    const install = await c.helm(['install', 'asics', path.join(REPO_ROOT, 'helm', 'minefleet'), '-n', OPERATOR_NS, '-f', '-', '--wait', '--timeout=240s'], {
      helmHome,
      input: stringify(values),
    });
    expect(install.code, install.stderr).toBe(0);

    const probe = { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1, successThreshold: 1 };
    rmSync(USB_DEV, { force: true, recursive: true });
    execFileSync('mknod', ['-m', '0666', USB_DEV, 'c', '1', '3']);
    const litecoindFeed = { litecoind: { url: `http://${c.nodeIp}:${ltc.rpcPort}/`, credentialsSecretRef: { name: 'ltc-rpc' }, refreshSeconds: 5 } };
    const failover = { strategy: 'Priority', failbackAfterSeconds: 3600 };
    const economics = {
      enabled: true,
      power: { wattsPerMiner: 3000 },
      electricityPrice: { perKWh: 0.1, currency: 'USD' },
      feeds: {
        LTC: { price: { http: { url: feedUrl, fieldPath: 'litecoin.usd', refreshSeconds: 10 } }, difficulty: litecoindFeed, blockReward: litecoindFeed },
      },
      minMarginPercent: 0,
      resumeMarginPercent: 20,
      evaluationWindowSeconds: 60,
      minOffSeconds: 0,
      feedMaxAgeSeconds: 60,
    };
    const docs = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pool-login' }, type: 'Opaque', stringData: { username: USER, password: POOL_PASSWORD } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ltc-rpc' }, type: 'Opaque', stringData: { username: ltc.rpcUser, password: ltc.rpcPassword } },
      ...(
        [
          ['pool-a', a],
          ['pool-b', b],
        ] as const
      ).map(([name, p]) => ({
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MiningPool',
        metadata: { name },
        spec: { url: p.url, coins: ['LTC'], credentialsSecretRef: { name: 'pool-login' }, probe },
      })),
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: FLEET },
        spec: {
          replicas: 1,
          device: {
            kind: 'network',
            network: { targets: DEVICES.map((name, i) => ({ name, host: c.nodeIp, port: asics!.ports[i]! })), pollIntervalSeconds: 1, requestTimeoutMs: 2000 },
          },
          miner: { backend: 'network' },
          pools: [
            { name: 'pool-a', priority: 0 },
            { name: 'pool-b', priority: 1 },
          ],
          failover,
          economics,
        },
      },
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: USB_FLEET },
        spec: {
          replicas: 1,
          device: { kind: 'usb', hostDevices: [USB_DEV] },
          miner: {
            backend: 'usb',
            imagePullPolicy: 'Never',
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
            // The emulator from the project image plays the USB miner program: no pool until the sidecar pushes one.
            external: {
              image: PROJECT_IMAGE,
              command: ['node', 'dist/miner/src/main.js', 'emulate-asic'],
              args: ['--model', 'antminer-l3plus', '--host', '127.0.0.1', '--port', '4028', '--hashrate', String(NOMINAL_HS), '--pool-dead-seconds', '2'],
              apiPort: 4028,
              model: 'antminer-l3plus',
            },
          },
          pools: [
            { name: 'pool-a', priority: 0 },
            { name: 'pool-b', priority: 1 },
          ],
          failover,
          economics,
        },
      },
    ];
    await ok(c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: docs.map((d) => stringify(d)).join('---\n') }));
  }, 420_000);

  afterAll(async () => {
    process.stderr.write(`[e2e asic-farm] ${JSON.stringify(figures)}\n`);
    // The usb fleet's pods go before its device node (containerd would make a missing bind-mount source a directory).
    await c.kubectl(['-n', NS, 'delete', 'mf', USB_FLEET, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    await waitFor(async () => (await c.kubectl(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${USB_FLEET}`, '-o', 'name'])).stdout.trim() === '', {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: 'the usb fleet pods gone',
    }).catch(() => undefined);
    rmSync(USB_DEV, { force: true, recursive: true });
    await prom?.stop();
    await c.kubectl(['delete', 'namespace', NS, '--wait=false']);
    await c.helm(['uninstall', 'asics', '-n', OPERATOR_NS, '--wait', '--timeout=120s'], { helmHome });
    await c.kubectl(['delete', 'namespace', OPERATOR_NS, '--wait=false']);
    await asics?.p.stop();
    feed?.closeAllConnections();
    await new Promise((r) => (feed ? feed.close(r) : r(undefined)));
    await Promise.all([aStopped ? undefined : a?.stop(), b?.stop(), ltc?.stop(), fdb?.stop()]);
    rmSync(helmHome, { recursive: true, force: true });
  });

  it('one supervisor pod, through its enforced NetworkPolicy, brings all six devices onto pool a with the password from the Secret', async () => {
    const t0 = Date.now();
    const pod = await waitFor(readySupervisor, { timeoutMs: 180_000, intervalMs: 500, description: 'a Ready supervisor pod' });
    figures.supervisorReadyMs = Date.now() - t0;
    expect(pod.spec.containers.map((ct: Any) => ct.name)).toEqual(['supervisor']);
    // The policy the node enforces: egress to each device's API port at its address, and to the pools.
    const np = await kjson(['-n', NS, 'get', 'networkpolicy', '-l', `minefleet.io/fleet=${FLEET}`]);
    expect(np.items).toHaveLength(1);
    const egress = JSON.stringify(np.items[0].spec.egress);
    for (const port of [...asics!.ports, a.port, b.port]) expect(egress).toContain(`"port":${port}`);

    await waitFor(async () => ((await activeUrls()).every((u) => u === a.url) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
      description: 'every device mining on pool a (its own cgminer pools reply)',
    });
    await waitFor(() => (DEVICES.every((d) => acceptedAt(a, d, 0) >= 1) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
      description: 'accepted shares from every device at pool a',
    });
    figures.allMiningAtAMs = Date.now() - t0;
    for (const d of DEVICES) {
      const logins = a.logins.filter((l) => isWorkerOf(l.worker, d));
      expect(logins.length, `${d} logged in at pool a`).toBeGreaterThanOrEqual(1);
      for (const l of logins) expect(l.password).toBe(POOL_PASSWORD);
    }
    const f = await fleet();
    expect(f.status.devices).toBe(DEVICES.length);
    expect(f.status.activePool).toBe('pool-a');

    // The usb fleet: device container + supervisor sidecar; the sidecar brings its miner onto pool a.
    const usbPod = await waitFor(readyUsbPod, { timeoutMs: 180_000, intervalMs: 500, description: 'the usb fleet pod Running with both containers Ready' });
    figures.usbPodReadyMs = Date.now() - t0;
    expect(usbPod.spec.containers.map((ct: Any) => ct.name).sort()).toEqual(['miner', 'supervisor']);
    await waitFor(() => (usbAcceptedAt(a, 0) >= 1 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
      description: 'accepted shares from the usb fleet at pool a',
    });
    figures.usbMiningAtAMs = Date.now() - t0;
    const usbLogins = a.logins.filter((l) => isUsbWorker(l.worker));
    expect(usbLogins.length).toBeGreaterThanOrEqual(1);
    for (const l of usbLogins) expect(l.password).toBe(POOL_PASSWORD);
  });

  it('the collector fills status.hashrate and status.shares, kubectl get mf shows the hashrate, FerretDB has a sample row per device', async () => {
    const f = await waitFor(
      async () => {
        const x = await fleet();
        // The first windows cover the devices' ramp-up: wait for one at the devices' rate.
        return x.status?.hashrate > DEVICES.length * NOMINAL_HS * 0.3 && x.status?.shares?.accepted > 0 ? x : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000, description: 'status.hashrate > 30 % of the nominal 6 x 150 H/s and status.shares.accepted > 0' },
    );
    figures.statusHashrate = f.status.hashrate;
    figures.statusShares = f.status.shares;
    // Six devices at 150 H/s nominal: the fleet figure is theirs, not one device's nor a pod's.
    expect(f.status.hashrate).toBeGreaterThan(DEVICES.length * NOMINAL_HS * 0.3);
    expect(f.status.hashrate).toBeLessThan(DEVICES.length * NOMINAL_HS * 2);

    // The printer column, read at the header's offset (kubectl pads the columns).
    const table = (await ok(c.kubectl(['-n', NS, 'get', 'mf', FLEET]))).split('\n').filter(Boolean);
    const header = table[0]!;
    const at = header.indexOf('HASHRATE');
    expect(at, header).toBeGreaterThan(0);
    const next = header.slice(at + 'HASHRATE'.length).search(/\S/) + at + 'HASHRATE'.length;
    const shown = Number(table[1]!.slice(at, next).trim());
    figures.kubectlHashrate = shown;
    expect(shown).toBeGreaterThan(0);

    // Per-device hashrate as the supervisor exports it (the 60 s window).
    const pod = (await readySupervisor())!;
    const text = await supervisorMetrics(pod);
    const perDevice = Object.fromEntries(
      DEVICES.map((d) => [d, metricValue(text, 'minefleet_miner_hashrate_hashes_per_second', { device: d, window: '60s' })]),
    );
    figures.hashratePerDevice60s = perDevice;
    for (const d of DEVICES) expect(perDevice[d], d).toBeGreaterThan(NOMINAL_HS * 0.3);

    /** Sum of shares.accepted over a device's sample rows. */
    const acceptedIn = (rows: Any[], d: string): number =>
      rows.filter((r) => r.deviceName === d).reduce((sum: number, r) => sum + (Number(r.shares?.accepted) || 0), 0);
    const client = new MongoClient(fdb.uri, { serverSelectionTimeoutMS: 10_000 });
    try {
      await client.connect();
      const rows = await waitFor(
        async () => {
          const found: Any[] = [];
          for (const { name: dbName } of (await client.db('admin').admin().listDatabases()).databases) {
            for (const col of await client.db(dbName).listCollections().toArray()) {
              if (!col.name.endsWith('samples')) continue;
              found.push(...(await client.db(dbName).collection(col.name).find({ namespace: NS, fleet: FLEET }).toArray()));
            }
          }
          const named = new Set(found.map((r) => r.deviceName as string | undefined).filter(Boolean));
          // The first windows may cover a device's ramp-up: wait until every device's rows carry shares.
          return DEVICES.every((d) => named.has(d) && acceptedIn(found, d) > 0) ? found : undefined;
        },
        {
          timeoutMs: 120_000,
          intervalMs: 2000,
          description: 'FerretDB sample rows with deviceName for each of the six devices, with accepted shares for each',
        },
      );
      figures.sampleRows = rows.length;
      // Every row of this fleet is a device's (a supervisor pod has no hashing of its own).
      for (const r of rows) expect(DEVICES).toContain(r.deviceName);
      // Each device's shares reach MongoDB, not only a row naming it.
      const sharesPerDevice = Object.fromEntries(DEVICES.map((d) => [d, acceptedIn(rows, d)]));
      figures.acceptedSharesPerDeviceInSamples = sharesPerDevice;
      for (const d of DEVICES) expect(sharesPerDevice[d], `${d}: sum of shares.accepted over its sample rows`).toBeGreaterThan(0);
      expect(rows.some((r) => r.pod === pod.metadata.name)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('Prometheus scrapes both fleets by pod IP and sees every device; the usb fleet status and its sample rows come from its sidecar', async () => {
    const farmPod = (await readySupervisor())!;
    const usbPod = (await readyUsbPod())!;
    expect(usbPod, 'a Ready usb fleet pod').toBeDefined();
    const targets = [farmPod, usbPod].map((p) => `${p.status.podIP}:${metricsPortOf(p)}`);
    prom = await startPrometheus({ scrapeConfigs: [{ job_name: 'supervisors', scrape_interval: '1s', static_configs: [{ targets }] }] });
    const byDevice = await waitFor(
      async () => {
        const r = await prom!.query('sum by (device) (minefleet_miner_shares_total{result="accepted"})');
        const m = Object.fromEntries(r.map((x) => [x.metric.device, Number(x.value[1])]));
        return [...DEVICES, 'usb'].every((d) => (m[d] ?? 0) > 0) ? m : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'accepted shares of the six ASICs and of the usb device in Prometheus' },
    );
    figures.prometheusAcceptedByDevice = byDevice;
    const up = await prom.query('up{job="supervisors"} == 1');
    expect(up.map((x) => x.metric.instance).sort()).toEqual([...targets].sort());
    const temps = await prom.query('count(minefleet_miner_device_temperature_celsius)');
    expect(Number(temps[0]?.value[1] ?? 0), 'device temperatures in Prometheus').toBeGreaterThanOrEqual(DEVICES.length + 1);

    const u = await waitFor(
      async () => {
        const x = await kjson(['-n', NS, 'get', 'mf', USB_FLEET]);
        return x.status?.hashrate > 0 && x.status?.shares?.accepted > 0 ? x : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000, description: 'the usb fleet status.hashrate and status.shares from the collector' },
    );
    figures.usbStatusHashrate = u.status.hashrate;
    expect(u.status.devices).toBe(1);
    const client = new MongoClient(fdb.uri, { serverSelectionTimeoutMS: 10_000 });
    try {
      await client.connect();
      const accepted = await waitFor(
        async () => {
          let sum = 0;
          for (const { name: dbName } of (await client.db('admin').admin().listDatabases()).databases)
            for (const col of await client.db(dbName).listCollections().toArray()) {
              if (!col.name.endsWith('samples')) continue;
              for (const r of await client.db(dbName).collection(col.name).find({ namespace: NS, fleet: USB_FLEET, deviceName: 'usb' }).toArray())
                sum += Number(r.shares?.accepted) || 0;
            }
          return sum > 0 ? sum : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 2000, description: 'FerretDB sample rows of the usb device with accepted shares' },
      );
      figures.usbAcceptedInSamples = accepted;
    } finally {
      await client.close();
    }
  });

  it('pool a dies: every device follows to pool b; the time for all of them is measured', async () => {
    await captureSupervisors('before failover');
    const t0 = Date.now();
    await a.stop();
    aStopped = true;
    const timeOf: Record<string, number> = {};
    await waitFor(
      async () => {
        const urls = await activeUrls();
        urls.forEach((u, i) => {
          if (u === b.url && timeOf[DEVICES[i]!] === undefined) timeOf[DEVICES[i]!] = Date.now() - t0;
        });
        return urls.every((u) => u === b.url) ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100, description: 'every device on pool b (its cgminer pools reply)' },
    );
    figures.failoverAllDevicesOnBMs = Date.now() - t0;
    figures.failoverPerDeviceMs = timeOf;
    await waitFor(() => (DEVICES.every((d) => acceptedAt(b, d, t0) >= 1) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 100,
      description: 'accepted shares from every device at pool b',
    });
    figures.failoverAllSharesAtBMs = Date.now() - t0;
    await waitFor(() => (usbAcceptedAt(b, t0) >= 1 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 100,
      description: 'accepted shares from the usb fleet at pool b',
    });
    figures.failoverUsbSharesAtBMs = Date.now() - t0;
    await waitFor(async () => ((await fleet()).status?.activePool === 'pool-b' ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'status.activePool pool-b',
    });
    figures.failoverOperatorDecidedMs = Date.now() - t0;
    for (const l of b.logins.filter((x) => DEVICES.some((d) => isWorkerOf(x.worker, d)))) expect(l.password).toBe(POOL_PASSWORD);
    // The operator's decision is now b: the devices stay there (no failback within the hour).
    expect((await activeUrls()).every((u) => u === b.url)).toBe(true);
  });

  it('the price drops to nothing: the economics disable every device (the supervisor stays); it recovers: every device mines again', async () => {
    await captureSupervisors('before suspension');
    // Regtest difficulty makes revenue enormous: only a vanishing price makes mining lose money.
    price = 1e-15;
    let t = Date.now();
    await waitFor(async () => ((await fleet()).status?.suspended === true ? true : undefined), {
      timeoutMs: 200_000,
      intervalMs: 1000,
      description: 'status.suspended true',
    });
    figures.suspendDecidedMs = Date.now() - t;
    const decided = Date.now();
    await waitFor(() => allUnits(false), { timeoutMs: 60_000, intervalMs: 100, description: 'every device reports its hash units disabled' });
    figures.suspendDevicesOffAfterDecisionMs = Date.now() - decided;
    figures.suspendTotalMs = Date.now() - t;
    // The usb fleet is suspended by scaling its pods away (the device's own program goes with them).
    await waitFor(
      async () => ((await kjson(['-n', NS, 'get', 'mf', USB_FLEET])).status?.suspended === true && (await usbPods()).length === 0 ? true : undefined),
      {
        timeoutMs: 200_000,
        intervalMs: 1000,
        description: 'the usb fleet suspended and its pod gone',
      },
    );
    figures.usbSuspendedPodGoneMs = Date.now() - t;
    // Disabled means no hashing: no share reaches a pool from any device any more.
    const quiet = Date.now() + 2000;
    await new Promise((r) => setTimeout(r, 5000));
    expect(DEVICES.filter((d) => acceptedAt(b, d, quiet) > 0)).toEqual([]);
    expect(usbAcceptedAt(b, quiet)).toBe(0);
    const pods = await supervisorPods();
    expect(pods).toHaveLength(1); // a network fleet keeps its supervisor to keep the devices off
    const text = await supervisorMetrics(pods[0]);
    expect(metricValue(text, 'minefleet_miner_device_suspended')).toBe(DEVICES.length);
    await captureSupervisors('while suspended');

    price = 100;
    t = Date.now();
    await waitFor(async () => ((await fleet()).status?.suspended === false ? true : undefined), {
      timeoutMs: 200_000,
      intervalMs: 1000,
      description: 'status.suspended false',
    });
    figures.resumeDecidedMs = Date.now() - t;
    await waitFor(() => allUnits(true), { timeoutMs: 60_000, intervalMs: 100, description: 'every device reports its hash units enabled' });
    figures.resumeDevicesOnMs = Date.now() - t;
    const on = Date.now();
    await waitFor(() => (DEVICES.every((d) => acceptedAt(b, d, on) >= 1) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 100,
      description: 'accepted shares from every device after the resume',
    });
    figures.resumeAllSharesMs = Date.now() - t;
    await waitFor(async () => ((await readyUsbPod()) && usbAcceptedAt(b, on) >= 1 ? true : undefined), {
      timeoutMs: 200_000,
      intervalMs: 500,
      description: 'the usb fleet back: its pod Ready and accepted shares at pool b',
    });
    figures.usbResumeSharesMs = Date.now() - t;
  }, 600_000);

  it('no pool, RPC or MongoDB password in the supervisor logs and metrics, the operator log, Events, statuses or stored documents', async () => {
    await captureSupervisors('at the end');
    const [operator] = (await kjson(['-n', OPERATOR_NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=operator'])).items as Any[];
    expect(operator, 'the operator pod').toBeDefined();
    const r = await c.kubectl(['-n', OPERATOR_NS, 'logs', operator.metadata.name, '--all-containers']);
    expect(r.code, r.stderr).toBe(0);
    captured.push({ what: 'operator log', text: r.stdout });
    captured.push({ what: 'Events', text: await ok(c.kubectl(['get', 'events', '-A', '-o', 'json'])) });
    for (const kind of ['minerfleets', 'miningpools', 'deployments', 'replicasets', 'configmaps', 'pods', 'networkpolicies', 'services'])
      captured.push({ what: kind, text: await ok(c.kubectl(['get', kind, '-A', '-o', 'json'])) });

    const client = new MongoClient(fdb.uri, { serverSelectionTimeoutMS: 10_000 });
    const stored: string[] = [];
    try {
      await client.connect();
      for (const { name: dbName } of (await client.db('admin').admin().listDatabases()).databases) {
        const db = client.db(dbName);
        for (const col of await db.listCollections().toArray()) {
          const docs = await db.collection(col.name).find({}).toArray();
          stored.push(`${dbName}.${col.name}=${docs.length}`);
          captured.push({ what: `mongodb ${dbName}.${col.name}`, text: JSON.stringify(docs) });
        }
      }
    } finally {
      await client.close();
    }
    figures.storedCollections = stored;
    figures.capturedTexts = captured.length;
    figures.capturedBytes = captured.reduce((s, x) => s + x.text.length, 0);

    // The captures are of this run: the supervisor logged its devices, the history has the failover and the suspension.
    const supervisorLog = captured.filter((x) => x.what.includes('supervisor') && x.what.endsWith('log'));
    expect(supervisorLog.length).toBeGreaterThanOrEqual(3);
    expect(supervisorLog.map((x) => x.text).join('\n')).toContain('asic-5');
    const history = captured.filter((x) => x.what.startsWith('mongodb ')).map((x) => x.text);
    expect(history.join('\n'), stored.join(', ')).toContain('pool-b');
    expect(history.join('\n'), stored.join(', ')).toMatch(/[Ss]uspend/);
    for (const secret of [POOL_PASSWORD, ltc.rpcPassword, MONGO_PASSWORD])
      for (const { what, text } of captured) expect(text.includes(secret), `${what} contains a password`).toBe(false);
  });

  it('the API server refuses a second supervisor pod for a network fleet, naming the rule', async () => {
    const r = await c.kubectl(['-n', NS, 'patch', 'mf', FLEET, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 2 } }), '--dry-run=server']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.replicas must be 0 or 1 when spec.device.kind is network');
  });
});
