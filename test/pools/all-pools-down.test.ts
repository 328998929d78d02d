/**
 * All pools down, with real miners: the built operator (process), two real Stratum pools and
 * miner processes started by the fleet rig (rendered config, watching the runtime ConfigMap
 * through the API server, as pods do). Both pools killed: the fleet says PoolAvailable=False and
 * stays where it is; the miner processes do not exit (no crash loop) and keep reconnecting. One
 * pool back: the fleet goes there, PoolAvailable=True, and every miner gets shares accepted there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { makeTempDir, sleep, startControlPlane, waitFor, type ControlPlane } from '../support/index.js';
import {
  capturedOutputs,
  createMinerFleet,
  firstAccepted,
  G,
  prepareNamespace,
  requireBuild,
  RIG_POOL_PASSWORD,
  runtimeOf,
  startFleetMiners,
  startOperatorProcess,
  startProbedPools,
  waitPoolsAvailable,
  workerOf,
  type OperatorProcess,
  type RestartablePool,
  type RigMiner,
} from '../support/fleetRig.js';

type Any = any;
const NS = 'pools-all-down';
const FLEET = 'stranded';
const MINERS = 2;
const POOLS = ['pa', 'pb'] as const;
const PROBE = { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1, successThreshold: 1 };

let cp: ControlPlane;
let rest: KubeRest;
let op: OperatorProcess;
let miners: RigMiner[] = [];
const pools: Record<string, RestartablePool> = {};

const fleet = async () => (await rest.get<Any>(`${G}/namespaces/${NS}/minerfleets/${FLEET}`)).status ?? {};
const poolAvailableCond = async () => ((await fleet()).conditions ?? []).find((c: Any) => c.type === 'PoolAvailable');
const reconnects = (m: RigMiner) => m.metric('minefleet_miner_reconnects_total');
const everyMinerSharesAt = (pool: string, after: number) => miners.every((m) => firstAccepted(pools[pool]!, workerOf(FLEET, m.pod), after) !== undefined);

beforeAll(async () => {
  requireBuild();
  const dir = makeTempDir('pools-all-down');
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await prepareNamespace(cp, rest, NS);
  Object.assign(pools, await startProbedPools(rest, NS, POOLS, PROBE));
  op = await startOperatorProcess(cp, { dir, namespace: NS });
  await waitPoolsAvailable(rest, NS, POOLS);
  await createMinerFleet(
    rest,
    NS,
    FLEET,
    MINERS,
    [
      { name: 'pa', priority: 0 },
      { name: 'pb', priority: 1 },
    ],
    { strategy: 'Priority', failbackAfterSeconds: 10 },
  );
  miners = await startFleetMiners(cp, rest, { dir, namespace: NS, fleet: FLEET, count: MINERS });
}, 240_000);

afterAll(async () => {
  await Promise.all(miners.map((m) => m.proc.stop(10_000)));
  await op?.proc.stop(15_000);
  for (const p of Object.values(pools)) await p.stop();
  await cp?.stop();
});

describe('all pools down with real miners', () => {
  it('both pools killed: PoolAvailable=False, miners keep running and retrying; one pool back: miners mine there, PoolAvailable=True', async () => {
    await waitFor(() => everyMinerSharesAt('pa', 0), { timeoutMs: 90_000, intervalMs: 250, description: 'every miner sharing at pa' });
    await waitFor(async () => (await poolAvailableCond())?.status === 'True', { timeoutMs: 30_000, description: 'PoolAvailable=True' });
    const pids = miners.map((m) => m.proc.pid);

    await Promise.all(POOLS.map((p) => pools[p]!.kill()));
    const down = await waitFor(
      async () => {
        const c = await poolAvailableCond();
        return c?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 60_000, description: 'PoolAvailable=False' },
    );
    expect(down.reason).toBe('NoPoolAvailable');
    const stranded = await fleet();
    // Nowhere to go: the fleet stays on a pool of its own (the decision in status and ConfigMap agree) and says so.
    expect(POOLS).toContain(stranded.activePool);
    expect((await runtimeOf(rest, NS, FLEET))?.activePool).toBe(stranded.activePool);

    // The outage lasts a while: the miners stay up and keep reconnecting (no exit, no crash loop).
    const r0 = await Promise.all(miners.map(reconnects));
    const outageStart = Date.now();
    await waitFor(async () => Date.now() - outageStart >= 20_000 && (await Promise.all(miners.map(reconnects))).every((r, i) => r >= r0[i]! + 2), {
      timeoutMs: 90_000,
      intervalMs: 500,
      description: 'every miner reconnecting through a 20 s outage',
    });
    for (const m of miners) expect(m.proc.running, `${m.pod}: ${m.proc.describeExit()}\n${m.proc.tail()}`).toBe(true);
    expect(miners.map((m) => m.proc.pid)).toEqual(pids);
    expect((await poolAvailableCond())?.status).toBe('False');
    const r1 = await Promise.all(miners.map(reconnects));
    console.log(
      `outage ${((Date.now() - outageStart) / 1000).toFixed(0)} s: reconnects per miner ${r0.join(',')} -> ${r1.join(',')}; fleet stayed on ${stranded.activePool}`,
    );

    // The pool the fleet is NOT on comes back: the fleet moves there, and the miners mine there.
    const back = POOLS.find((p) => p !== stranded.activePool)!;
    const upAt = Date.now();
    await pools[back]!.revive();
    await waitFor(async () => (await runtimeOf(rest, NS, FLEET))?.activePool === back, { timeoutMs: 60_000, description: `runtime activePool ${back}` });
    await waitFor(async () => (await poolAvailableCond())?.status === 'True', { timeoutMs: 60_000, description: 'PoolAvailable=True again' });
    await waitFor(() => everyMinerSharesAt(back, upAt), { timeoutMs: 90_000, intervalMs: 250, description: `every miner sharing at ${back}` });
    expect((await fleet()).activePool).toBe(back);
    for (const m of miners) expect(m.proc.running, m.pod).toBe(true);
    expect(miners.map((m) => m.proc.pid)).toEqual(pids);
    // still mining a little later (not a single share on the way through)
    const later = Date.now();
    await sleep(1000);
    await waitFor(() => everyMinerSharesAt(back, later), { timeoutMs: 60_000, intervalMs: 250, description: `miners keep sharing at ${back}` });
  }, 360_000);

  it('no pool password in operator or miner logs, /metrics, status or Events', async () => {
    for (const { what, text } of await capturedOutputs(rest, NS, [op], miners)) expect(text.includes(RIG_POOL_PASSWORD), what).toBe(false);
    expect(Object.values(pools).some((p) => p.current()?.logins.some((l) => l.password === RIG_POOL_PASSWORD))).toBe(true);
  });
});
