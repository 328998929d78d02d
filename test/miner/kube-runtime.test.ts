/**
 * The operator's live channel through a real kube-apiserver: the miner watches the fleet's
 * runtime ConfigMap (KUBECONFIG, as in tests; in-cluster in pods) and switches pool when
 * activePool changes, without restarting; the watch survives an API server restart.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, startMiner, waitFor, type MinerProcess } from './helpers.js';

const NS = 'mining';
const CM = 'fleet-a-runtime';

describe('runtime ConfigMap live channel', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  let a: StratumPool;
  let b: StratumPool;
  let miner: MinerProcess;

  const setRuntime = async (activePool: string, revision: number) => {
    const body = { metadata: { name: CM, namespace: NS }, data: { 'runtime.json': JSON.stringify({ activePool, revision }) } };
    try {
      await core.replaceNamespacedConfigMap({ name: CM, namespace: NS, body });
    } catch {
      await core.createNamespacedConfigMap({ namespace: NS, body });
    }
  };
  const acceptedAt = (pool: StratumPool, after: number) => pool.shares.filter((s) => s.result === 'accepted' && s.receivedAt >= after);

  beforeAll(async () => {
    [cp, a, b] = await Promise.all([startControlPlane(), startStratumPool({ difficulty: 0.004 }), startStratumPool({ difficulty: 0.004 })]);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await setRuntime('a', 1);
  });
  afterAll(async () => {
    await miner?.stop();
    await a?.stop();
    await b?.stop();
    await cp?.stop();
  });

  it('switches pool live when the runtime ConfigMap changes, also after an API server restart', async () => {
    const cfg = baseConfig([poolEntry('a', a.url), poolEntry('b', b.url)], 'b', {
      fleet: 'fleet-a',
      namespace: NS,
      runtime: { kubernetes: { namespace: NS, configMapName: CM } },
    });
    // Static activePool says b; the runtime ConfigMap (revision 1) says a and wins.
    miner = await startMiner(cfg, { KUBECONFIG: cp.kubeconfigPath });
    const pid = miner.pid;
    await waitFor('mining at a (runtime overrides static)', () => acceptedAt(a, 0).length >= 2, 60_000);

    const t0 = Date.now();
    await setRuntime('b', 2);
    await waitFor('shares at b', () => acceptedAt(b, t0).length >= 2, 30_000, 50);
    console.log(`ConfigMap switch: first share at the new pool ${acceptedAt(b, t0)[0]!.receivedAt - t0} ms after the update`);
    expect(await miner.metric('minefleet_miner_pool_switches_total', { from: 'a', to: 'b', cause: 'runtime' })).toBe(1);

    await cp.restartApiServer();
    await setRuntime('a', 3);
    const t1 = Date.now();
    await waitFor('back at a after the API server restart', () => acceptedAt(a, t1).length >= 2, 90_000, 100);
    expect(miner.alive()).toBe(true);
    expect(miner.pid).toBe(pid);
    expect(miner.logs.filter((l) => l.msg === 'metrics server listening')).toHaveLength(1);
    expect(miner.logs.filter((l) => l.msg === 'runtime state received').map((l) => l.revision)).toEqual([1, 2, 3]);
  });
});
