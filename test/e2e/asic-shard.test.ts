/**
 * A sharded farm on the real node: six `miner emulate-asic` devices on the node's bridge address,
 * listed in a ConfigMap (spec.device.network.targetsFrom), three per supervisor pod
 * (targetsPerPod 3), so the chart's operator runs two supervisor pods. Each device must be brought
 * onto the pool by exactly one pod, the one the runtime ConfigMap's deviceAssignments names (its
 * worker name carries the pod), and each pod exports only its own devices. Then one supervisor pod
 * is deleted: its devices move to the pod that replaces it and the other pod keeps its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CgminerClient } from '../../miner/src/external/client.js';
import { parsePools } from '../../miner/src/external/snapshot.js';
import { startLitecoind, waitFor, type Litecoind } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { startEmulators } from '../external/helpers.js';
import { e2eCluster, installOperator, ok } from './cluster.js';

type Any = any;
const NS = 'e2e-shard';
const OPERATOR_NS = 'e2e-shard-operator';
const FLEET = 'shard';
const USER = 'shard-wallet';
const DEVICES = ['asic-0', 'asic-1', 'asic-2', 'asic-3', 'asic-4', 'asic-5'];
const PER_POD = 3;

describe('a farm of emulated ASICs shared by two supervisor pods (targetsPerPod) on the real node', () => {
  const c = e2eCluster();
  const figures: Record<string, unknown> = {};
  let ltc: Litecoind;
  let pool: StratumPool;
  let asics: Awaited<ReturnType<typeof startEmulators>> | undefined;
  let operator: Awaited<ReturnType<typeof installOperator>> | undefined;

  const kjson = async (args: string[]): Promise<Any> => JSON.parse(await ok(c.kubectl([...args, '-o', 'json'])));
  const supervisorPods = async (): Promise<Any[]> =>
    ((await kjson(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`])).items as Any[]).filter((p) => !p.metadata.deletionTimestamp);
  const readyPods = async (): Promise<Any[]> =>
    (await supervisorPods()).filter((p) => p.status.podIP && p.status.conditions?.some((x: Any) => x.type === 'Ready' && x.status === 'True'));
  const assignments = async (): Promise<Record<string, string[]> | undefined> => {
    const cm = await kjson(['-n', NS, 'get', 'configmap', `${FLEET}-runtime`]);
    return (JSON.parse(cm.data['runtime.json']) as { deviceAssignments?: Record<string, string[]> }).deviceAssignments;
  };
  const metricsOf = async (pod: Any): Promise<string> => {
    const port = pod.spec.containers.flatMap((ct: Any) => ct.ports ?? []).find((p: Any) => p.name === 'metrics').containerPort;
    return (await fetch(`http://${pod.status.podIP}:${port}/metrics`)).text();
  };
  const devicesIn = (text: string) => [...new Set([...text.matchAll(/device="([^"]+)"/g)].map((m) => m[1]!))].sort();
  const workerOf = (pod: string, d: string) => `${USER}.${FLEET}.${pod}.${d}`;
  const device = (d: string) => new CgminerClient({ host: c.nodeIp, port: asics!.ports[DEVICES.indexOf(d)]!, timeoutMs: 3000 });
  /** The login the device itself mines with (cgminer `pools`, the active one). */
  const activeUser = async (d: string): Promise<string | undefined> => parsePools(await device(d).pools()).find((p) => p.active)?.user;
  const accepted = (worker: string, after: number) => pool.shares.filter((s) => s.worker === worker && s.result === 'accepted' && s.receivedAt >= after).length;

  /** Two Ready pods, named exactly by a disjoint map that covers every device, PER_POD each at most. */
  const sharded = (description: string, also: (a: Record<string, string[]>) => boolean = () => true) =>
    waitFor(
      async () => {
        const [pods, a] = [await readyPods(), await assignments()];
        const names = pods.map((p) => p.metadata.name as string).sort();
        if (names.length !== 2 || !a || JSON.stringify(Object.keys(a).sort()) !== JSON.stringify(names)) return undefined;
        const all = Object.values(a).flat();
        if (all.length !== DEVICES.length || new Set(all).size !== all.length || Object.values(a).some((l) => l.length > PER_POD)) return undefined;
        return also(a) ? { pods, a } : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500, description },
    );
  /** Every device mines under the worker of the pod the map gives it, and has accepted shares for it after `after`. */
  const followed = (a: Record<string, string[]>, after: number, description: string) =>
    waitFor(
      async () => {
        for (const [pod, ds] of Object.entries(a))
          for (const d of ds) if ((await activeUser(d)) !== workerOf(pod, d) || accepted(workerOf(pod, d), after) < 1) return undefined;
        return true;
      },
      { timeoutMs: 180_000, intervalMs: 500, description },
    );

  beforeAll(async () => {
    ltc = await startLitecoind();
    pool = await startStratumPool({ litecoind: ltc, difficulty: 0.002, host: c.nodeIp });
    asics = await startEmulators(['--host', c.nodeIp, '--model', 'antminer-l3plus', '--hashrate', '150', '--pool-dead-seconds', '2'], DEVICES.length);
    await ok(c.kubectl(['create', 'namespace', NS]));
    operator = await installOperator(c, { namespace: OPERATOR_NS, values: { watchNamespaces: [NS] } });
    const targets = DEVICES.map((name, i) => ({ name, host: c.nodeIp, port: asics!.ports[i]! }));
    const docs = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pool-login' }, type: 'Opaque', stringData: { username: USER, password: 'shard-pool-pw' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shard-targets' }, data: { 'targets.yaml': stringify(targets) } },
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MiningPool',
        metadata: { name: 'pool-a' },
        spec: { url: pool.url, coins: ['LTC'], credentialsSecretRef: { name: 'pool-login' } },
      },
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: FLEET },
        spec: {
          replicas: 1,
          device: {
            kind: 'network',
            network: { targetsFrom: { configMapRef: { name: 'shard-targets' } }, targetsPerPod: PER_POD, pollIntervalSeconds: 1, requestTimeoutMs: 2000 },
          },
          miner: { backend: 'network' },
          pools: [{ name: 'pool-a', priority: 0 }],
        },
      },
    ];
    await ok(c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: docs.map((d) => stringify(d)).join('---\n') }));
  }, 420_000);

  afterAll(async () => {
    process.stderr.write(`[e2e asic-shard] ${JSON.stringify(figures)}\n`);
    await c.kubectl(['delete', 'namespace', NS, '--wait=false']);
    await operator?.uninstall();
    await c.kubectl(['delete', 'namespace', OPERATOR_NS, '--wait=false']);
    await asics?.p.stop();
    await pool?.stop();
    await ltc?.stop();
  });

  it('two supervisor pods, each bringing exactly its own three devices onto the pool', async () => {
    const t0 = Date.now();
    const { pods, a } = await sharded('two Ready supervisor pods with a disjoint assignment of all six devices');
    figures.shardedMs = Date.now() - t0;
    figures.assignment = a;
    await followed(a, 0, 'every device mining under the worker of its assigned pod');
    figures.allMiningMs = Date.now() - t0;
    // Nobody fought over a device: no share or login from the other pod's worker, ever.
    for (const [pod, ds] of Object.entries(a)) {
      const other = Object.keys(a).find((p) => p !== pod)!;
      for (const d of ds) {
        expect(
          pool.logins.filter((l) => l.worker === workerOf(other, d)),
          `${d} logged in by ${other}`,
        ).toEqual([]);
        expect(pool.logins.some((l) => l.worker === workerOf(pod, d))).toBe(true);
      }
    }
    for (const p of pods) expect(devicesIn(await metricsOf(p))).toEqual([...a[p.metadata.name]!].sort());
    const f = await kjson(['-n', NS, 'get', 'mf', FLEET]);
    expect(f.status.devices).toBe(DEVICES.length);
    expect(f.status.conditions.find((x: Any) => x.type === 'DeviceTargetsResolved')).toMatchObject({ status: 'True', reason: 'TargetsResolved' });
    expect(f.status.replicas).toBe(2);
  }, 480_000);

  it('a deleted supervisor pod hands its devices to its replacement; the other pod keeps its own', async () => {
    const before = (await assignments())!;
    const [gone, kept] = Object.keys(before).sort();
    const t = Date.now();
    await ok(c.kubectl(['-n', NS, 'delete', 'pod', gone!, '--wait=false']));
    const { a } = await sharded(`two Ready pods again, ${gone} replaced`, (x) => x[gone!] === undefined);
    expect(a[kept!]).toEqual(before[kept!]);
    const replacement = Object.keys(a).find((p) => p !== kept)!;
    expect([...a[replacement]!].sort()).toEqual([...before[gone!]!].sort());
    await followed(a, t, `the replacement ${replacement} drives ${before[gone!]!.join(', ')}`);
    figures.handOverMs = Date.now() - t;
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    for (const d of before[gone!]!) expect(accepted(workerOf(gone!, d), after), `${d} still mining for ${gone}`).toBe(0);
  }, 480_000);
});
