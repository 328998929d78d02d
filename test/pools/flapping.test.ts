/**
 * A flapping pool does not make the fleet flap: the built operator (process) probes a primary
 * pool that is killed and revived every 3 s; the Priority fleet moves away once, stays on the
 * backup while the primary flaps (it is never Available for failbackAfterSeconds in a row), and
 * moves back once, failbackAfterSeconds after the primary became steadily Available.
 *
 * The issue asks for 2 minutes of flapping; CI runs 30 s (POOLS_FLAP_SECONDS=120 for the full
 * run). The flap period (3 s) against the 5 s probe interval makes at most 3 probes in a row see
 * the pool up (≈ 10-15 s Available), so failbackAfterSeconds 30 is what holds the fleet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { makeTempDir, sleep, startControlPlane, waitFor, type ControlPlane } from '../support/index.js';
import {
  capturedOutputs,
  createMinerFleet,
  G,
  poolAvailable,
  prepareNamespace,
  requireBuild,
  RIG_POOL_PASSWORD,
  runtimeOf,
  startOperatorProcess,
  startProbedPools,
  waitPoolsAvailable,
  type OperatorProcess,
  type RestartablePool,
} from '../support/fleetRig.js';

type Any = any;
const NS = 'pools-flap';
const FLEET = 'flappy';
const FLAP_SECONDS = Number(process.env.POOLS_FLAP_SECONDS ?? 30);
const FLAP_PERIOD_MS = 3000;
const FAILBACK_SECONDS = 30;
const PROBE = { intervalSeconds: 5, timeoutSeconds: 2, failureThreshold: 1, successThreshold: 1 };

let cp: ControlPlane;
let rest: KubeRest;
let op: OperatorProcess;
const pools: Record<string, RestartablePool> = {};

beforeAll(async () => {
  requireBuild();
  const dir = makeTempDir('pools-flap');
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await prepareNamespace(cp, rest, NS);
  Object.assign(pools, await startProbedPools(rest, NS, ['pa', 'pb'], PROBE));
  op = await startOperatorProcess(cp, { dir, namespace: NS });
  await waitPoolsAvailable(rest, NS, ['pa', 'pb']);
  await createMinerFleet(
    rest,
    NS,
    FLEET,
    3,
    [
      { name: 'pa', priority: 0 },
      { name: 'pb', priority: 1 },
    ],
    { strategy: 'Priority', failbackAfterSeconds: FAILBACK_SECONDS },
  );
  await waitFor(async () => (await runtimeOf(rest, NS, FLEET))?.activePool === 'pa', { timeoutMs: 60_000, description: 'fleet on pa' });
}, 240_000);

afterAll(async () => {
  await op?.proc.stop(15_000);
  for (const p of Object.values(pools)) await p.stop();
  await cp?.stop();
});

describe('flapping pool', () => {
  it(
    `pool up/down every ${FLAP_PERIOD_MS / 1000} s for ${FLAP_SECONDS} s: one switch away, one back after failbackAfterSeconds`,
    async () => {
      const seen: Array<{ activePool: string; revision: number; at: number }> = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const r = await runtimeOf(rest, NS, FLEET).catch(() => undefined);
          if (r && (seen.length === 0 || seen.at(-1)!.revision !== r.revision)) seen.push({ ...r, at: Date.now() });
          await sleep(100);
        }
      })();

      const flapEnd = Date.now() + FLAP_SECONDS * 1000;
      let flaps = 0;
      let availableAtToggle = 0;
      while (Date.now() < flapEnd) {
        if (pools.pa!.state() === 'up') await pools.pa!.kill();
        else await pools.pa!.revive();
        flaps++;
        if (await poolAvailable(rest, NS, 'pa')) availableAtToggle++;
        await sleep(FLAP_PERIOD_MS);
      }
      await pools.pa!.revive();
      const steadyFrom = Date.now();
      console.log(`flapped ${flaps} times in ${FLAP_SECONDS} s; pa seen Available at ${availableAtToggle} of the toggles`);
      // During the flapping the fleet went to pb once and stayed there.
      expect(seen.map((s) => s.activePool)).toEqual(['pa', 'pb']);

      const back = await waitFor(() => seen.find((s, i) => i > 1 && s.activePool === 'pa'), {
        timeoutMs: (FAILBACK_SECONDS + 90) * 1000,
        intervalMs: 200,
        description: 'failback to pa',
      });
      await sleep(5000);
      watching = false;
      await watcher;
      expect(seen.map((s) => s.activePool)).toEqual(['pa', 'pb', 'pa']);
      // failbackAfterSeconds honoured: pa had been Available that long (its condition says since when)
      const mp = await rest.get<Any>(`${G}/namespaces/${NS}/miningpools/pa`);
      const availableSince = Date.parse(mp.status.conditions.find((c: Any) => c.type === 'Available').lastTransitionTime);
      expect(back.at - availableSince).toBeGreaterThanOrEqual(FAILBACK_SECONDS * 1000 - 1000); // condition time has 1 s precision
      expect(back.at).toBeGreaterThan(steadyFrom);

      const metrics = await op.metrics();
      const switches = metrics.split('\n').filter((l) => l.startsWith('minefleet_fleet_pool_switches_total{') && l.includes(`fleet="${FLEET}"`));
      expect(switches.map((l) => l.replace(/^.*reason="(\w+)".* (\d+)$/, '$1=$2')).sort()).toEqual(['Failback=1', 'Failover=1']);
      const events = (await rest.get<Any>(`/api/v1/namespaces/${NS}/events`)).items.filter(
        (e: Any) => e.involvedObject.name === FLEET && e.reason === 'ActivePoolChanged',
      );
      expect(events.reduce((n: number, e: Any) => n + (e.count ?? 1), 0)).toBe(2);
      const st = (await rest.get<Any>(`${G}/namespaces/${NS}/minerfleets/${FLEET}`)).status;
      expect(st.activePool).toBe('pa');
    },
    (FLAP_SECONDS + FAILBACK_SECONDS + 180) * 1000,
  );

  it('no pool password in the operator log, /metrics, status or Events', async () => {
    for (const { what, text } of await capturedOutputs(rest, NS, [op])) expect(text.includes(RIG_POOL_PASSWORD), what).toBe(false);
    expect(pools.pa!.current()!.logins.some((l) => l.password === RIG_POOL_PASSWORD)).toBe(true);
  });
});
