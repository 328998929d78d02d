import { isDeepStrictEqual } from 'node:util';
import type { MinerFleet } from '../../api/v1alpha1/index.js';

/** The status fields the collector writes (its own field manager), not the MinerFleet controller. */
type CollectorStatus = 'hashrate' | 'shares';

function withoutCollectorFields(f: MinerFleet): unknown {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = f.metadata as MinerFleet['metadata'] & { managedFields?: unknown };
  const { hashrate: _h, shares: _s, ...status } = (f.status ?? {}) as NonNullable<MinerFleet['status']> & Partial<Record<CollectorStatus, unknown>>;
  return { ...f, metadata, status };
}

/**
 * Whether a MinerFleet update concerns its reconciler (pure; the controller's update filter).
 * The collector writes status.hashrate and status.shares of every fleet about once a minute:
 * reconciling each fleet on each of those writes (1,000 fleets: 1,000 renders a minute) would
 * decide nothing new, except for economics, which reads status.hashrate. Any other change
 * (spec, metadata, the controller's own status) does concern it, and so does a resync (the
 * informer re-delivering an unchanged object: the periodic drift repair).
 */
export function fleetUpdateConcernsReconciler(old: MinerFleet, obj: MinerFleet): boolean {
  if (old === obj || old.metadata.resourceVersion === obj.metadata.resourceVersion) return true;
  if (old.metadata.generation !== obj.metadata.generation) return true;
  if (!isDeepStrictEqual(withoutCollectorFields(old), withoutCollectorFields(obj))) return true;
  return obj.spec.economics?.enabled === true && old.status?.hashrate !== obj.status?.hashrate;
}
