/**
 * Glue between the cache and the pure failover decision (failover.ts): pool health from the
 * MiningPools' Available condition, the previous decision from status and the published runtime
 * ConfigMap, and what the decision puts into status. Kept apart from controller.ts so the fleet
 * controller only calls in here.
 */
import type { MinerFleet, MinerFleetStatus, MiningPool } from '../../api/v1alpha1/index.js';
import { MinerFleetConditionType } from '../../api/v1alpha1/index.js';
import type { KubeObject, ResourceType } from '../../runtime/resource.js';
import { setCondition } from './conditions.js';
import { FLEET_LABEL } from './desired/metadata.js';
import { decideFailover, type FailoverDecision, type PoolHealth } from './failover.js';

export const Pods: ResourceType = { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
/**
 * The fleet's miner pods come from the one shared Pod cache (the collector's: fleet label
 * selector, trimmed to name, uid, fleet label, IP, readiness); Weighted needs only their names.
 */
export { MINER_POD_SELECTOR as MINER_PODS_SELECTOR, minerPodTransform as trimPod } from '../../collector/pods.js';
export const PODS_BY_FLEET = 'byFleet';

export function podFleetKey(p: KubeObject): string[] {
  const f = p.metadata.labels?.[FLEET_LABEL];
  return f ? [`${p.metadata.namespace ?? ''}/${f}`] : [];
}

export function poolHealth(pool: MiningPool): PoolHealth {
  const c = pool.status?.conditions?.find((x) => x.type === 'Available');
  if (!c || c.status === 'Unknown') return { available: undefined };
  if (c.status === 'False') return { available: false };
  const since = Date.parse(c.lastTransitionTime);
  return { available: true, ...(Number.isFinite(since) ? { availableSinceMs: since } : {}) };
}

export interface PublishedRuntime {
  activePool?: string;
  revision?: number;
  assignments?: Record<string, string>;
  /** Network fleets: the devices are told to stop hashing. */
  suspended?: boolean;
  /** Network fleets with several supervisor pods: pod -> devices it drives. */
  deviceAssignments?: Record<string, string[]>;
}

export function fleetDecision(fleet: MinerFleet, pools: MiningPool[], podNames: string[], published: PublishedRuntime, nowMs: number): FailoverDecision {
  const names = new Set(pools.map((p) => p.metadata.name!));
  const health: Record<string, PoolHealth> = {};
  for (const p of pools) health[p.metadata.name!] = poolHealth(p);
  const previousActive = fleet.status?.activePool ?? published.activePool;
  return decideFailover({
    strategy: fleet.spec.failover.strategy,
    failbackAfterSeconds: fleet.spec.failover.failbackAfterSeconds,
    pools: fleet.spec.pools.filter((r) => names.has(r.name)).map((r) => ({ name: r.name, priority: r.priority, weight: r.weight })),
    health,
    pods: podNames,
    nowMs,
    previous: {
      ...(previousActive !== undefined ? { activePool: previousActive } : {}),
      ...(published.assignments ? { assignments: published.assignments } : {}),
      ...(fleet.status?.poolAssignments ? { spread: fleet.status.poolAssignments.map((p) => p.pool) } : {}),
    },
  });
}

/** Decision-owned parts of status: PoolAvailable when no pool is, per-pool miner counts. */
export function applyDecisionToStatus(status: MinerFleetStatus, d: FailoverDecision, generation: number, now: string): void {
  if (!d.poolAvailable) {
    status.conditions = setCondition(
      status.conditions ?? [],
      { type: MinerFleetConditionType.PoolAvailable, status: 'False', reason: 'NoPoolAvailable', message: d.message },
      generation,
      now,
    );
  }
  status.poolAssignments = Object.entries(d.counts)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([pool, miners]) => ({ pool, miners }));
}
