import type { FleetPoolRef, MinerFleet, MiningPool } from '../../../api/v1alpha1/index.js';

export interface OrderedPool {
  ref: FleetPoolRef;
  pool: MiningPool;
}

/**
 * The fleet's pools that exist, in failover order: priority ascending (lower is preferred), name
 * as a tie-break so the order never depends on the order the cache returned them in.
 */
export function orderedPools(fleet: MinerFleet, pools: MiningPool[]): OrderedPool[] {
  const byName = new Map<string, MiningPool>();
  for (const p of pools) if (p.metadata.name) byName.set(p.metadata.name, p);
  const out: OrderedPool[] = [];
  for (const ref of fleet.spec.pools) {
    const pool = byName.get(ref.name);
    if (pool) out.push({ ref, pool });
  }
  return out.sort((a, b) => a.ref.priority - b.ref.priority || (a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0));
}

/**
 * The pool the fleet should mine on. For now: the referenced pool with the lowest priority number
 * among those that exist, health-agnostic (the failover issue adds pool health and failback).
 */
export function selectActivePool(fleet: MinerFleet, pools: MiningPool[]): string | undefined {
  return orderedPools(fleet, pools)[0]?.ref.name;
}
