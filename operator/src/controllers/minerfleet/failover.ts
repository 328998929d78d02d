/**
 * The fleet's pool decision as a pure function of (fleet spec, pools' health, pods, now, previous
 * decision). No I/O: the controller feeds it from the cache and publishes what it returns.
 *
 * Priority: every miner on the best available pool. Weighted: miners spread over the available
 * pools in proportion to their weights (exact quotas by largest remainder, so each pool is within
 * one miner of its share), each pod's pool chosen deterministically by rendezvous hashing on the
 * pod name and kept from the previous decision where the quotas allow, so a pod or pool coming or
 * going moves as few miners as possible.
 *
 * No flapping: a pool that came back (or a pool better than the current one) is only moved to
 * once it has been Available for `failbackAfterSeconds` without a break. Its Available condition's
 * lastTransitionTime says since when, so the clock survives an operator restart or a new leader.
 */
import { createHash } from 'node:crypto';
import type { FailoverStrategy } from '../../api/v1alpha1/index.js';

export interface FailoverPoolRef {
  name: string;
  priority: number;
  weight: number;
}

export interface PoolHealth {
  /** undefined: not probed yet (treated as usable and stable: a priority change applies at once). */
  available: boolean | undefined;
  /** ms epoch since when it is available (Available=True lastTransitionTime). */
  availableSinceMs?: number;
}

export interface PreviousDecision {
  activePool?: string;
  /** pod name -> pool, as last published (Weighted). */
  assignments?: Record<string, string>;
  /** Pools the previous Weighted decision spread over (status.poolAssignments, 0 miners included). */
  spread?: string[];
}

export interface FailoverInput {
  strategy: FailoverStrategy;
  failbackAfterSeconds: number;
  /** The fleet's pools that exist (missing MiningPools are left out by the caller). */
  pools: FailoverPoolRef[];
  health: Record<string, PoolHealth>;
  /** Names of the fleet's miner pods (Weighted assigns each one). */
  pods: string[];
  nowMs: number;
  previous: PreviousDecision;
}

export type DecisionReason = 'Initial' | 'Steady' | 'Failover' | 'Failback' | 'Rebalance' | 'NoPoolAvailable';

export interface FailoverDecision {
  /** The pool miners use unless `assignments` names another for them; undefined only without pools. */
  activePool: string | undefined;
  /** Weighted only: pod -> pool (Priority: empty, everyone is on activePool). */
  assignments: Record<string, string>;
  /** Miners per pool (Priority: all on activePool). */
  counts: Record<string, number>;
  poolAvailable: boolean;
  reason: DecisionReason;
  /** Human-readable why, for the Event and the condition message. */
  message: string;
  /** activePool differs from the previous decision's (one switch: Event, metric, audit record). */
  switched: boolean;
  from?: string;
  /** Pods whose pool changed (Weighted). */
  moved: number;
  /** A preferred pool is healthy but not for long enough yet: decide again at this time. */
  recheckAtMs?: number;
}

export function byPriority(pools: FailoverPoolRef[]): FailoverPoolRef[] {
  return [...pools].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function usable(h: PoolHealth | undefined): boolean {
  return h?.available !== false;
}

/** Stable: Available=True for at least failbackAfterSeconds. */
function stableAt(h: PoolHealth | undefined, failbackMs: number): number | undefined {
  // Never probed (no MiningPool controller yet): no evidence of flapping, so no wait.
  if (h === undefined || h.available === undefined) return Number.NEGATIVE_INFINITY;
  if (h.available !== true || h.availableSinceMs === undefined) return undefined;
  return h.availableSinceMs + failbackMs;
}

export function decideFailover(i: FailoverInput): FailoverDecision {
  return i.strategy === 'Weighted' ? decideWeighted(i) : decidePriority(i);
}

function decidePriority(i: FailoverInput): FailoverDecision {
  const ordered = byPriority(i.pools);
  const failbackMs = i.failbackAfterSeconds * 1000;
  const prev = i.previous.activePool !== undefined && ordered.some((p) => p.name === i.previous.activePool) ? i.previous.activePool : undefined;
  const result = (activePool: string | undefined, reason: DecisionReason, message: string, poolAvailable: boolean, recheckAtMs?: number): FailoverDecision => ({
    activePool,
    assignments: {},
    counts: activePool ? { [activePool]: i.pods.length } : {},
    poolAvailable,
    reason,
    message,
    switched: activePool !== i.previous.activePool && i.previous.activePool !== undefined,
    ...(i.previous.activePool !== undefined && activePool !== i.previous.activePool ? { from: i.previous.activePool } : {}),
    moved: activePool !== i.previous.activePool && i.previous.activePool !== undefined ? i.pods.length : 0,
    ...(recheckAtMs !== undefined ? { recheckAtMs } : {}),
  });
  const candidates = ordered.filter((p) => usable(i.health[p.name]));
  if (candidates.length === 0) {
    // Nowhere better to go: stay (miners keep retrying their pools) and say so.
    const stay = prev ?? ordered[0]?.name;
    return result(
      stay,
      'NoPoolAvailable',
      `no pool is available (${ordered.map((p) => p.name).join(', ')}); miners stay on "${stay}" and keep retrying`,
      false,
    );
  }
  if (!prev) {
    const first = candidates[0]!.name;
    return result(first, 'Initial', `mining on "${first}", the best available pool`, true);
  }
  const prevPriority = ordered.find((p) => p.name === prev)!.priority;
  if (usable(i.health[prev])) {
    // Fail back only to a better pool that has been healthy long enough.
    let recheck: number | undefined;
    for (const p of candidates) {
      if (p.priority >= prevPriority) break;
      const at = stableAt(i.health[p.name], failbackMs);
      if (at !== undefined && at <= i.nowMs) {
        return result(p.name, 'Failback', `pool "${p.name}" has been available for at least ${i.failbackAfterSeconds}s; moving back from "${prev}"`, true);
      }
      if (at !== undefined) recheck = recheck === undefined ? at : Math.min(recheck, at);
    }
    return result(prev, 'Steady', `mining on "${prev}"`, true, recheck);
  }
  // The current pool is down: take the best pool that is stable, else the best that works at all.
  const stable = candidates.find((p) => {
    const at = stableAt(i.health[p.name], failbackMs);
    return at !== undefined && at <= i.nowMs;
  });
  const to = (stable ?? candidates[0]!).name;
  return result(to, 'Failover', `pool "${prev}" is unavailable; moving to "${to}"`, true);
}

/** Rendezvous (highest random weight) score of a pod for a pool, in [0, 1). */
export function rendezvousScore(pod: string, pool: string): number {
  const h = createHash('sha256').update(pod).update('\0').update(pool).digest();
  return h.readUInt32BE(0) / 2 ** 32 + h.readUInt32BE(4) / 2 ** 64;
}

/** Miners per pool by weight, exact total, each within one of its proportional share. */
export function weightedQuotas(pools: FailoverPoolRef[], n: number): Record<string, number> {
  const total = pools.reduce((s, p) => s + p.weight, 0);
  const out: Record<string, number> = {};
  if (total === 0 || pools.length === 0) return out;
  const rows = byPriority(pools).map((p, idx) => {
    const exact = (n * p.weight) / total;
    return { name: p.name, floor: Math.floor(exact), rest: exact - Math.floor(exact), idx };
  });
  let left = n - rows.reduce((s, r) => s + r.floor, 0);
  for (const r of [...rows].sort((a, b) => b.rest - a.rest || a.idx - b.idx)) {
    if (left <= 0) break;
    r.floor++;
    left--;
  }
  for (const r of rows) out[r.name] = r.floor;
  return out;
}

function decideWeighted(i: FailoverInput): FailoverDecision {
  const ordered = byPriority(i.pools);
  const failbackMs = i.failbackAfterSeconds * 1000;
  const prevAssign = i.previous.assignments ?? {};
  const prevInUse = new Set(i.previous.spread ?? Object.values(prevAssign));
  if (i.previous.activePool) prevInUse.add(i.previous.activePool);
  // No pod was ever placed and no spread is known: there is nothing to fail back from, so the
  // failback hold does not apply. The default pool alone does not count: it is published with the
  // runtime ConfigMap, and a fleet whose first decision (made before its pods existed) is not in
  // the cached status yet would otherwise hold every other pool out for failbackAfterSeconds.
  const first = Object.keys(prevAssign).length === 0 && (i.previous.spread ?? []).length === 0;
  const candidates = ordered.filter((p) => usable(i.health[p.name]));
  let recheck: number | undefined;
  // A pool joins the spread when it has been healthy for failbackAfterSeconds (or was in it
  // already); the very first decision takes every usable pool (there is nothing to fail back from).
  let inSpread = first
    ? candidates
    : candidates.filter((p) => {
        if (prevInUse.has(p.name)) return true;
        const at = stableAt(i.health[p.name], failbackMs);
        if (at !== undefined && at > i.nowMs) recheck = recheck === undefined ? at : Math.min(recheck, at);
        return at !== undefined && at <= i.nowMs;
      });
  if (inSpread.length === 0) inSpread = candidates; // nothing stable: use whatever works
  const pods = [...new Set(i.pods)].sort();

  if (inSpread.length === 0) {
    const stay = i.previous.activePool && ordered.some((p) => p.name === i.previous.activePool) ? i.previous.activePool : ordered[0]?.name;
    const assignments: Record<string, string> = {};
    const counts: Record<string, number> = {};
    for (const pod of pods) {
      const pool = prevAssign[pod] ?? stay;
      if (!pool) continue;
      assignments[pod] = pool;
      counts[pool] = (counts[pool] ?? 0) + 1;
    }
    return {
      activePool: stay,
      assignments,
      counts,
      poolAvailable: false,
      reason: 'NoPoolAvailable',
      message: `no pool is available (${ordered.map((p) => p.name).join(', ')}); miners stay where they are and keep retrying`,
      switched: false,
      moved: 0,
    };
  }

  const quotas = weightedQuotas(inSpread, pods.length);
  const spreadNames = new Set(inSpread.map((p) => p.name));
  const assignments: Record<string, string> = {};
  const left = { ...quotas };
  // Keep previous placements where the quota allows; for an over-full pool the pods that score
  // highest for it stay (deterministic, independent of map order).
  const keepers = pods
    .filter((pod) => prevAssign[pod] !== undefined && spreadNames.has(prevAssign[pod]))
    .sort((a, b) => rendezvousScore(b, prevAssign[b]!) - rendezvousScore(a, prevAssign[a]!) || (a < b ? -1 : 1));
  for (const pod of keepers) {
    const pool = prevAssign[pod]!;
    if ((left[pool] ?? 0) > 0) {
      assignments[pod] = pool;
      left[pool]!--;
    }
  }
  const pairs: Array<{ pod: string; pool: string; score: number }> = [];
  for (const pod of pods) {
    if (assignments[pod]) continue;
    for (const p of inSpread) pairs.push({ pod, pool: p.name, score: rendezvousScore(pod, p.name) });
  }
  pairs.sort((a, b) => b.score - a.score || (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : a.pool < b.pool ? -1 : 1));
  for (const { pod, pool } of pairs) {
    if (assignments[pod] || (left[pool] ?? 0) <= 0) continue;
    assignments[pod] = pool;
    left[pool]!--;
  }
  const counts: Record<string, number> = {};
  for (const p of inSpread) counts[p.name] = 0;
  for (const pool of Object.values(assignments)) counts[pool] = (counts[pool] ?? 0) + 1;
  // The default for pods not assigned yet (just created): the spread pool with the largest weight.
  const activePool = [...inSpread].sort((a, b) => b.weight - a.weight || a.priority - b.priority)[0]!.name;
  const moved = pods.filter((pod) => prevAssign[pod] !== undefined && prevAssign[pod] !== assignments[pod]).length;
  const prevActive = i.previous.activePool;
  const lost = [...prevInUse].filter((p) => !spreadNames.has(p));
  const gained = inSpread.map((p) => p.name).filter((p) => !prevInUse.has(p));
  const reason: DecisionReason = first ? 'Initial' : lost.length ? 'Failover' : gained.length ? 'Failback' : moved > 0 ? 'Rebalance' : 'Steady';
  // A switch: the set of pools in use changed, or the default pool did.
  const switched = reason === 'Failover' || reason === 'Failback' || (prevActive !== undefined && prevActive !== activePool);
  const spread = inSpread.map((p) => `${p.name}=${counts[p.name] ?? 0}`).join(', ');
  const message =
    reason === 'Failover'
      ? `pool(s) ${lost.map((p) => `"${p}"`).join(', ')} unavailable; miners spread as ${spread}`
      : reason === 'Failback'
        ? `pool(s) ${gained.map((p) => `"${p}"`).join(', ')} available for at least ${i.failbackAfterSeconds}s; miners spread as ${spread}`
        : `miners spread by weight as ${spread}`;
  return {
    activePool,
    assignments,
    counts,
    poolAvailable: true,
    reason,
    message,
    switched,
    ...(switched && prevActive !== undefined ? { from: prevActive } : {}),
    moved,
    ...(recheck !== undefined ? { recheckAtMs: recheck } : {}),
  };
}
