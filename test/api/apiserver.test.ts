/**
 * The CRDs against a real kube-apiserver: samples apply, the bad-input table is rejected with
 * messages naming the field, defaults, printer columns, the scale and status subresources, and
 * `kubectl explain`. One control plane for the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { installCrds, startControlPlane, type ControlPlane } from '../support/index.js';
import { readdir, readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import {
  GROUP,
  MINER_FLEET_PLURAL,
  MINING_POOL_PLURAL,
  MinerFleetSpecSchema,
  MinerFleetStatusSchema,
  MiningPoolSpecSchema,
  VERSION,
} from '../../operator/src/api/v1alpha1/index.js';
import { BAD_INPUTS, type BadInput } from './bad-inputs.js';
import { validFleet, validPool, type Obj } from './fixtures.js';

const root = join(import.meta.dirname, '../..');
const NS = 'api-test';

let cp: ControlPlane;
let custom: CustomObjectsApi;

async function kubectl(args: string[], input?: string) {
  const r = await cp.kubectl(args, input === undefined ? undefined : { input });
  return r;
}
async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
async function getJson(kindName: string): Promise<Obj> {
  return JSON.parse(await kubectlOk(['-n', NS, 'get', kindName, '-o', 'json'])) as Obj;
}

/** Poll until `fn` stops throwing (CRD establishment, discovery refresh) or the deadline passes. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const pluralOf = (o: Obj) => (o.kind === 'MiningPool' ? MINING_POOL_PLURAL : MINER_FLEET_PLURAL);

/** The API server's message for a rejected create, or undefined when it was accepted. */
async function rejection(o: Obj): Promise<string | undefined> {
  try {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: pluralOf(o),
      body: o,
      dryRun: 'All',
      fieldValidation: 'Strict',
    });
    return undefined;
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message?: string };
    let body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        /* keep the text */
      }
    }
    const msg = (body as { message?: string } | undefined)?.message ?? (typeof body === 'string' ? body : e.message);
    return `HTTP ${e.code}: ${msg}`;
  }
}

beforeAll(async () => {
  cp = await startControlPlane();
  custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await installCrds(cp);
  await kubectlOk(['create', 'namespace', NS]);
  // kubectl's discovery cache may lag behind the new CRDs.
  await eventually(() => kubectlOk(['-n', NS, 'get', 'mf,mp']));
});

afterAll(async () => {
  await cp?.stop();
});

describe('CRDs on a real API server', () => {
  it('the CRDs are accepted as structural and established', async () => {
    for (const plural of [MINING_POOL_PLURAL, MINER_FLEET_PLURAL]) {
      const crd = JSON.parse(await kubectlOk(['get', 'crd', `${plural}.${GROUP}`, '-o', 'json'])) as Obj;
      const conds = Object.fromEntries((crd.status.conditions as Obj[]).map((c) => [c.type, c.status]));
      expect(conds).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
      expect(conds.NonStructuralSchema).toBeUndefined();
    }
  });

  it('every sample applies with kubectl apply', async () => {
    const out = await kubectlOk(['apply', '-n', NS, '-f', join(root, 'k8s/samples')]);
    for (const name of [
      'secret/ltc-pool-credentials',
      'secret/merged-pool-credentials',
      'miningpool.minefleet.io/ltc-tls',
      'miningpool.minefleet.io/merged-ltc-doge',
      'minerfleet.minefleet.io/cpu-fleet',
      'minerfleet.minefleet.io/gpu-fleet',
      'minerfleet.minefleet.io/usb-asic-fleet',
      'minerfleet.minefleet.io/usb-external-fleet',
      'minerfleet.minefleet.io/asic-rack',
      'configmap/asic-farm-targets',
      'minerfleet.minefleet.io/asic-farm',
    ]) {
      expect(out).toContain(name);
    }
    // Applying again changes nothing: the samples are stable under defaulting (generation stays 1).
    await kubectlOk(['apply', '-n', NS, '-f', join(root, 'k8s/samples')]);
    const list = JSON.parse(await kubectlOk(['-n', NS, 'get', 'mf,mp', '-o', 'json'])) as Obj;
    expect(list.items).toHaveLength(8);
    for (const item of list.items as Obj[]) expect(item.metadata.generation, item.metadata.name).toBe(1);
  });

  it('defaults are visible after create', async () => {
    const pool = await getJson('mp/merged-ltc-doge');
    expect(pool.spec.probe).toEqual({ intervalSeconds: 30, timeoutSeconds: 10, failureThreshold: 3, successThreshold: 1 });
    const tls = await getJson('mp/ltc-tls');
    expect(tls.spec.credentialsSecretRef).toEqual({ name: 'ltc-pool-credentials', userKey: 'username', passwordKey: 'password' });
    expect(tls.spec.tls.caSecretRef).toEqual({ name: 'ltc-pool-ca', key: 'ca.crt' });
    expect(tls.spec.feePercent).toBe(1);

    const minimal = validFleet('minimal');
    minimal.spec = { pools: [{ name: 'merged-ltc-doge', priority: 0 }] };
    await kubectlOk(['apply', '-n', NS, '-f', '-'], JSON.stringify(minimal));
    const m = await getJson('mf/minimal');
    expect(m.spec).toEqual({
      replicas: 1,
      device: { kind: 'cpu', perPod: 1 },
      miner: { backend: 'cpu' },
      pools: [{ name: 'merged-ltc-doge', priority: 0, weight: 1 }],
      failover: { strategy: 'Priority', failbackAfterSeconds: 300 },
      networkPolicy: { enabled: true },
      paused: false,
    });

    const usb = await getJson('mf/usb-asic-fleet');
    expect(usb.spec.economics).toMatchObject({
      enabled: true,
      minMarginPercent: 0,
      resumeMarginPercent: 10,
      evaluationWindowSeconds: 900,
      minOffSeconds: 1800,
      feedMaxAgeSeconds: 900,
      onStaleFeed: 'Hold',
      power: { measured: { metricName: 'minefleet_miner_power_watts', fallbackWattsPerMiner: 15 } },
    });
    const rack = await getJson('mf/asic-rack');
    expect(rack.spec.device).toEqual({
      kind: 'network',
      perPod: 1,
      network: {
        targets: [
          { name: 'l3-01', host: '10.20.0.11', port: 4028, model: 'antminer-l3plus' },
          { name: 'l3-02', host: '10.20.0.12', port: 4028, model: 'antminer-l3plus' },
          { name: 'lt5-01', host: '10.20.0.21', port: 4028, model: 'goldshell-lt5' },
        ],
        targetsPerPod: 1000,
        pollIntervalSeconds: 5,
        requestTimeoutMs: 3000,
      },
    });
    expect((await getJson('mf/asic-farm')).spec.device.network).toEqual({
      targetsFrom: { configMapRef: { name: 'asic-farm-targets', key: 'targets.yaml' } },
      targetsPerPod: 3,
      pollIntervalSeconds: 5,
      requestTimeoutMs: 3000,
    });
    const ext = validFleet('usb-external');
    ext.spec = {
      device: { kind: 'usb', hostDevices: ['/dev/ttyUSB0'] },
      miner: { backend: 'usb', external: { image: 'example/bfgminer:5.5', args: ['--api-listen'] } },
      pools: [{ name: 'merged-ltc-doge', priority: 0 }],
    };
    await kubectlOk(['apply', '-n', NS, '-f', '-'], JSON.stringify(ext));
    expect((await getJson('mf/usb-external')).spec.miner.external).toEqual({ image: 'example/bfgminer:5.5', args: ['--api-listen'], apiPort: 4028 });
    // The external-miner sample as stored: its device container and the API port the sidecar reaches.
    const sample = await getJson('mf/usb-external-fleet');
    expect(sample.spec.device).toEqual({ kind: 'usb', perPod: 2, hostDevices: ['/dev/ttyUSB0', '/dev/ttyUSB1'] });
    expect(sample.spec.miner.external).toMatchObject({ image: 'registry.example.com/replace-me/bfgminer:5.5.0', apiPort: 4028, model: 'usb-stick' });
    expect(sample.spec.miner.external.args).toContain('--api-allow=W:127.0.0.1');
    const cpu = await getJson('mf/cpu-fleet');
    expect(cpu.spec.economics.feeds.LTC.difficulty.litecoind).toMatchObject({
      refreshSeconds: 60,
      credentialsSecretRef: { name: 'litecoind-rpc', userKey: 'username', passwordKey: 'password' },
    });
  });

  it('the API server and zod default every sample identically (one source)', async () => {
    const dir = join(root, 'k8s/samples');
    let compared = 0;
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
        const o = doc.toJS() as Obj;
        if (o.kind !== 'MiningPool' && o.kind !== 'MinerFleet') continue;
        const live = await getJson(`${o.kind === 'MiningPool' ? 'mp' : 'mf'}/${o.metadata.name}`);
        const schema = o.kind === 'MiningPool' ? MiningPoolSpecSchema : MinerFleetSpecSchema;
        expect(live.spec, `${file}`).toEqual(schema.parse(o.spec));
        compared++;
      }
    }
    expect(compared).toBe(8);
  });

  it(`rejects all ${BAD_INPUTS.length} bad inputs with a message naming the field`, async () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(30);
    const failures: string[] = [];
    const check = async (c: BadInput, i: number) => {
      const o = c.make();
      if (o.metadata.name.length < 40) o.metadata.name = `bad-${i}`;
      const msg = await rejection(o);
      if (msg === undefined) {
        failures.push(`${c.name}: accepted`);
      } else if (!msg.includes(c.path) || !msg.toLowerCase().includes(c.api.toLowerCase())) {
        failures.push(`${c.name}: expected "${c.path}" and "${c.api}" in: ${msg}`);
      }
    };
    // A few at a time: the API server is shared with other suites on a small machine.
    for (let i = 0; i < BAD_INPUTS.length; i += 6) {
      await Promise.all(BAD_INPUTS.slice(i, i + 6).map((c, j) => check(c, i + j)));
    }
    expect(failures).toEqual([]);
  });

  it('kubectl apply shows the field path of a CEL violation', async () => {
    const fleet = validFleet('gpu-no-resource');
    fleet.spec.device = { kind: 'gpu' };
    fleet.spec.miner = { backend: 'gpu' };
    const r = await kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify(fleet));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.device.resourceName');
    expect(r.stderr).toContain('required when spec.device.kind is gpu');

    const pool = validPool('cleartext');
    pool.spec.credentialsSecretRef.password = 'hunter2';
    const p = await kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify(pool));
    expect(p.code).not.toBe(0);
    expect(p.stderr).toContain('unknown field "spec.credentialsSecretRef.password"');
  });

  it('rules also hold on update', async () => {
    const r = await kubectl(['-n', NS, 'patch', 'mf', 'cpu-fleet', '--type=merge', '-p', '{"spec":{"economics":{"minMarginPercent":50}}}']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.economics.resumeMarginPercent');
    const u = await kubectl(['-n', NS, 'patch', 'mp', 'ltc-tls', '--type=merge', '-p', '{"spec":{"url":"stratum+tcp://ltc.pool.example.com:3333"}}']);
    expect(u.code).not.toBe(0);
    expect(u.stderr).toContain('spec.tls');
  });

  it('kubectl get mf,mp and kubectl get mining show the printer columns', async () => {
    await kubectlOk([
      '-n',
      NS,
      'patch',
      'mf',
      'gpu-fleet',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          replicas: 2,
          readyReplicas: 2,
          activePool: 'merged-ltc-doge',
          hashrate: 123456.5,
          suspended: false,
          profitability: { marginPercent: 42.5, currency: 'USD' },
          selector: 'minefleet.io/fleet=gpu-fleet',
          conditions: [{ type: 'Ready', status: 'True', reason: 'MinersReady', message: '2/2 miner pods ready', lastTransitionTime: '2026-01-01T00:00:00Z' }],
        },
      }),
    ]);
    await kubectlOk([
      '-n',
      NS,
      'patch',
      'mp',
      'merged-ltc-doge',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          latencyMs: 37,
          circuit: 'Closed',
          conditions: [
            { type: 'Available', status: 'True', reason: 'ProbeSucceeded', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' },
            { type: 'Ready', status: 'False', reason: 'Recovering', message: 'trial probe succeeded', lastTransitionTime: '2026-01-01T00:00:00Z' },
          ],
        },
      }),
    ]);
    const out = await kubectlOk(['-n', NS, 'get', 'mf,mp']);
    const lines = out.split('\n');
    const header = (prefix: string) => lines.find((l) => l.startsWith('NAME') && lines[lines.indexOf(l) + 1]?.includes(prefix)) ?? '';
    expect(header('minerfleet').split(/\s+/)).toEqual(['NAME', 'DESIRED', 'READY', 'MINERS', 'POOL', 'HASHRATE', 'MARGIN', 'SUSPENDED', 'AGE']);
    expect(header('miningpool').split(/\s+/)).toEqual(['NAME', 'URL', 'READY', 'LATENCY', 'AGE']);
    const gpu = lines.find((l) => l.startsWith('minerfleet.minefleet.io/gpu-fleet'))!.split(/\s+/);
    expect(gpu.slice(1, 8)).toEqual(['2', 'True', '2', 'merged-ltc-doge', '123456.5', '42.5', 'false']);
    const pool = lines.find((l) => l.startsWith('miningpool.minefleet.io/merged-ltc-doge'))!.split(/\s+/);
    // Ready (False here) is its own condition, not Available (True): the column reads the right one.
    expect(pool.slice(1, 4)).toEqual(['stratum+tcp://merged.pool.example.com:3333', 'False', '37']);
    // status.selector feeds the scale subresource: an empty one is refused, by the server and by zod.
    const empty = await kubectl(['-n', NS, 'patch', 'mf', 'gpu-fleet', '--subresource=status', '--type=merge', '-p', '{"status":{"selector":""}}']);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/status\.selector.*should be at least 1 chars long/);
    expect(MinerFleetStatusSchema.safeParse({ selector: '' }).success).toBe(false);
    const poolWide = await kubectlOk(['-n', NS, 'get', 'mp', 'merged-ltc-doge', '-o', 'wide']);
    expect(poolWide).toMatch(/READY\s+AVAILABLE\s+LATENCY\s+CIRCUIT/);
    expect(poolWide).toMatch(/merged-ltc-doge\s+\S+\s+False\s+True\s+37\s+Closed/);

    const mining = await kubectlOk(['-n', NS, 'get', 'mining']);
    expect(mining).toContain('minerfleet.minefleet.io/cpu-fleet');
    expect(mining).toContain('miningpool.minefleet.io/ltc-tls');
    const wide = await kubectlOk(['-n', NS, 'get', 'mf', 'usb-asic-fleet', '-o', 'wide']);
    expect(wide).toMatch(/DEVICE\s+STRATEGY/);
    expect(wide).toMatch(/usb\s+Priority/);
    await kubectlOk(['-n', NS, 'patch', 'mf', 'asic-rack', '--subresource=status', '--type=merge', '-p', '{"status":{"devices":3}}']);
    const rack = await kubectlOk(['-n', NS, 'get', 'mf', 'asic-rack', 'usb-external', '-o', 'wide']);
    expect(rack).toMatch(/DEVICE\s+STRATEGY\s+DEVICES\s+EXTERNAL/);
    expect(rack).toMatch(/asic-rack\s.*network\s+Priority\s+3\s+\d+s$/m);
    expect(rack).toMatch(/usb-external\s.*usb\s+Priority\s+example\/bfgminer:5\.5\s/);
  });

  it('kubectl scale changes spec.replicas through the scale subresource', async () => {
    expect(await kubectlOk(['-n', NS, 'scale', 'mf', 'gpu-fleet', '--replicas=7'])).toContain('scaled');
    expect((await getJson('mf/gpu-fleet')).spec.replicas).toBe(7);
    const scale = JSON.parse(await kubectlOk(['-n', NS, 'get', 'mf', 'gpu-fleet', '--subresource=scale', '-o', 'json'])) as Obj;
    expect(scale.kind).toBe('Scale');
    expect(scale.spec.replicas).toBe(7);
    expect(scale.status).toMatchObject({ replicas: 2, selector: 'minefleet.io/fleet=gpu-fleet' });
    const neg = await kubectl(['-n', NS, 'scale', 'mf', 'gpu-fleet', '--replicas=20000']);
    expect(neg.code).not.toBe(0);
    expect(neg.stderr).toContain('spec.replicas');
  });

  it('status cannot be written through the main resource', async () => {
    const withStatus = validFleet('status-probe');
    withStatus.spec.pools = [{ name: 'merged-ltc-doge', priority: 0 }];
    withStatus.status = { suspended: true, activePool: 'forged' };
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: MINER_FLEET_PLURAL, body: withStatus });
    const created = await getJson('mf/status-probe');
    expect(created.status).toBeUndefined();

    await kubectlOk(['-n', NS, 'patch', 'mf', 'status-probe', '--subresource=status', '--type=merge', '-p', '{"status":{"activePool":"merged-ltc-doge"}}']);
    const current = await getJson('mf/status-probe');
    current.status = { activePool: 'forged', suspended: true };
    current.spec.replicas = 4;
    await kubectlOk(['-n', NS, 'replace', '-f', '-'], JSON.stringify(current));
    const after = await getJson('mf/status-probe');
    expect(after.spec.replicas).toBe(4);
    expect(after.status).toEqual({ activePool: 'merged-ltc-doge' });

    // ...and the status subresource ignores spec changes.
    await kubectlOk([
      '-n',
      NS,
      'patch',
      'mf',
      'status-probe',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"spec":{"replicas":9},"status":{"readyReplicas":1}}',
    ]);
    const last = await getJson('mf/status-probe');
    expect(last.spec.replicas).toBe(4);
    expect(last.status.readyReplicas).toBe(1);
  });

  it('kubectl explain shows the field descriptions', async () => {
    // kubectl wraps descriptions at 80 columns.
    const explain = async (field: string) => (await kubectlOk(['explain', field])).replace(/\s+/g, ' ');
    const econ = await explain('minerfleet.spec.economics');
    expect(econ).toContain('Economic shutdown');
    for (const field of ['minMarginPercent', 'resumeMarginPercent', 'evaluationWindowSeconds', 'minOffSeconds', 'onStaleFeed', 'power', 'feeds']) {
      expect(econ).toContain(field);
    }
    expect(econ).toContain('hysteresis');
    const feed = await explain('minerfleet.spec.economics.feeds.LTC.price');
    expect(feed).toContain('Set exactly one of value or http');
    const net = await explain('minerfleet.spec.device.network');
    expect(net).toContain('supervisor pods apply the pool decision');
    for (const field of ['targets', 'targetsFrom', 'targetsPerPod', 'pollIntervalSeconds', 'requestTimeoutMs']) expect(net).toContain(field);
    const perPod = await explain('minerfleet.spec.device.network.targetsPerPod');
    expect(perPod).toContain('ceil(targets / targetsPerPod) supervisor pods');
    const from = await explain('minerfleet.spec.device.network.targetsFrom.configMapRef');
    expect(from).toContain('YAML or JSON list of targets');
    const external = await explain('minerfleet.spec.miner.external');
    expect(external).toContain('supervisor as a sidecar');
    expect(external).toContain('apiPort');
    const creds = await explain('mp.spec.credentialsSecretRef');
    expect(creds).toContain('Credentials are only ever read from this Secret');
  });
});
