import { describe, expect, it } from 'vitest';
import type { MinerFleet } from '../../operator/src/api/v1alpha1/index.js';
import { fleetUpdateConcernsReconciler } from '../../operator/src/controllers/minerfleet/predicates.js';
import { fleet as fixtureFleet } from './fixtures.js';

function fleet(
  rv: string,
  patch: { generation?: number; spec?: Record<string, unknown>; status?: Record<string, unknown>; labels?: Record<string, string> } = {},
): MinerFleet {
  const f = fixtureFleet('ns', 'f', 'cpu', [{ name: 'p', priority: 0 }], 2);
  return {
    ...f,
    metadata: { ...f.metadata, uid: 'u1', resourceVersion: rv, generation: patch.generation ?? 1, ...(patch.labels ? { labels: patch.labels } : {}) },
    spec: { ...f.spec, ...patch.spec },
    status: { activePool: 'p', readyReplicas: 2, hashrate: 9000, shares: { accepted: 10, rejected: 1, stale: 0 }, ...patch.status },
  } as unknown as MinerFleet;
}

describe('MinerFleet update filter', () => {
  const old = fleet('100');

  it("skips an update that only moves the collector's hashrate and shares", () => {
    expect(fleetUpdateConcernsReconciler(old, fleet('101', { status: { hashrate: 9500, shares: { accepted: 14, rejected: 1, stale: 0 } } }))).toBe(false);
  });

  it('passes spec (generation), metadata and the controller status changes, and resyncs', () => {
    expect(fleetUpdateConcernsReconciler(old, fleet('101', { generation: 2, spec: { replicas: 3 } }))).toBe(true);
    expect(fleetUpdateConcernsReconciler(old, fleet('101', { labels: { team: 'a' } }))).toBe(true);
    expect(fleetUpdateConcernsReconciler(old, fleet('101', { status: { readyReplicas: 1 } }))).toBe(true);
    expect(fleetUpdateConcernsReconciler(old, fleet('101', { status: { activePool: 'q', hashrate: 100 } }))).toBe(true);
    // the informer's resync re-delivers the cached object itself
    expect(fleetUpdateConcernsReconciler(old, old)).toBe(true);
    expect(fleetUpdateConcernsReconciler(old, fleet('100'))).toBe(true);
  });

  it('passes a hashrate move for a fleet whose economics read it, but not a shares-only move', () => {
    const econ = { economics: { enabled: true } };
    const before = fleet('100', { spec: econ });
    expect(fleetUpdateConcernsReconciler(before, fleet('101', { spec: econ, status: { hashrate: 4000 } }))).toBe(true);
    expect(fleetUpdateConcernsReconciler(before, fleet('101', { spec: econ, status: { shares: { accepted: 20, rejected: 1, stale: 0 } } }))).toBe(false);
    const off = { economics: { enabled: false } };
    expect(fleetUpdateConcernsReconciler(fleet('100', { spec: off }), fleet('101', { spec: off, status: { hashrate: 4000 } }))).toBe(false);
  });
});
