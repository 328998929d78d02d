/**
 * The pure device assignment of sharded network fleets (targetsPerPod): disjoint, within
 * capacity, covering every target once there are ceil(N / k) pods, deterministic, and moving only
 * the devices of pods that went away.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assignDevices } from '../../operator/src/controllers/minerfleet/device-assignment.js';
import { supervisorPods } from '../../operator/src/controllers/minerfleet/desired/index.js';

const names = (n: number, p = 'asic') => Array.from({ length: n }, (_, i) => `${p}-${i}`);
const owners = (a: Record<string, string[]>) => Object.values(a).flat();

describe('supervisorPods', () => {
  it('is ceil(N / k) while on, 0 when off or without targets', () => {
    expect(supervisorPods(1, 5, 3)).toBe(2);
    expect(supervisorPods(1, 6, 3)).toBe(2);
    expect(supervisorPods(1, 7, 3)).toBe(3);
    expect(supervisorPods(1, 3, 1000)).toBe(1);
    expect(supervisorPods(1, 1000, 1)).toBe(1000);
    expect(supervisorPods(0, 5, 3)).toBe(0);
    expect(supervisorPods(1, 0, 3)).toBe(0);
  });
});

describe('assignDevices', () => {
  it('5 targets, 3 per pod, 2 pods: 3 + 2, disjoint, in target order', () => {
    const targets = names(5);
    const r = assignDevices({ targets, pods: ['sup-b', 'sup-a'], perPod: 3, previous: {} });
    expect(Object.keys(r.assignments).sort()).toEqual(['sup-a', 'sup-b']);
    expect(owners(r.assignments).sort()).toEqual([...targets].sort());
    expect(
      Object.values(r.assignments)
        .map((l) => l.length)
        .sort(),
    ).toEqual([2, 3]);
    for (const list of Object.values(r.assignments)) expect(list).toEqual(targets.filter((t) => list.includes(t)));
    expect(r.unassigned).toEqual([]);
    expect(r.moved).toBe(0);
    // Same inputs in another order: the same map (every leader computes it alike).
    expect(assignDevices({ targets, pods: ['sup-a', 'sup-b'], perPod: 3, previous: {} }).assignments).toEqual(r.assignments);
  });

  it('with fewer pods than needed, fills them to capacity and leaves the rest unassigned', () => {
    const r = assignDevices({ targets: names(5), pods: ['sup-a'], perPod: 3, previous: {} });
    expect(r.assignments['sup-a']).toHaveLength(3);
    expect(r.unassigned).toHaveLength(2);
    // The second pod arrives: it takes exactly the rest, the first keeps its three.
    const r2 = assignDevices({ targets: names(5), pods: ['sup-a', 'sup-b'], perPod: 3, previous: r.assignments });
    expect(r2.assignments['sup-a']).toEqual(r.assignments['sup-a']);
    expect([...r2.assignments['sup-b']!].sort()).toEqual([...r.unassigned].sort());
    expect(r2.moved).toBe(0);
  });

  it('no pods: nothing assigned; a pod that leaves hands over only its own devices', () => {
    expect(assignDevices({ targets: names(4), pods: [], perPod: 2, previous: {} })).toEqual({ assignments: {}, unassigned: names(4), moved: 0 });
    const before = assignDevices({ targets: names(6), pods: ['p1', 'p2', 'p3'], perPod: 2, previous: {} }).assignments;
    // p2 terminates (left out by the caller) and p4 replaces it.
    const after = assignDevices({ targets: names(6), pods: ['p1', 'p3', 'p4'], perPod: 2, previous: before });
    expect(after.assignments['p1']).toEqual(before['p1']);
    expect(after.assignments['p3']).toEqual(before['p3']);
    expect(after.assignments['p4']).toEqual(before['p2']);
    expect(after.moved).toBe(2);
  });

  it('targets removed and added: survivors stay, new ones go to the pod with room', () => {
    const before = { p1: ['a', 'b', 'c'], p2: ['d', 'e'] };
    const r = assignDevices({ targets: ['a', 'd', 'e', 'f'], pods: ['p1', 'p2'], perPod: 3, previous: before });
    expect(r.assignments).toEqual({ p1: ['a', 'f'], p2: ['d', 'e'] });
    expect(r.moved).toBe(0);
  });

  it('a lowered capacity moves only the excess; a map naming a device twice keeps it once', () => {
    const r = assignDevices({ targets: names(4), pods: ['p1', 'p2'], perPod: 2, previous: { p1: names(4) } });
    expect(r.assignments['p1']).toHaveLength(2);
    expect(r.assignments['p2']).toHaveLength(2);
    expect(r.moved).toBe(2);
    const dup = assignDevices({ targets: ['a', 'b'], pods: ['p1', 'p2'], perPod: 2, previous: { p1: ['a'], p2: ['a', 'b'] } });
    expect(dup.assignments).toEqual({ p1: ['a'], p2: ['b'] });
  });

  it('properties: disjoint, within capacity, complete with ceil(N/k) pods, stable under a repeat', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 5 }),
        (n, k, extraPods, leaving) => {
          const targets = names(n);
          const pods = names(supervisorPods(1, n, k) + extraPods, 'pod');
          const first = assignDevices({ targets, pods, perPod: k, previous: {} });
          const all = owners(first.assignments);
          expect(new Set(all).size).toBe(all.length); // disjoint
          for (const l of Object.values(first.assignments)) expect(l.length).toBeLessThanOrEqual(k);
          expect(all.length + first.unassigned.length).toBe(n);
          expect(first.unassigned).toEqual([]); // enough pods: every target driven
          // Recomputing from the published map changes nothing.
          const again = assignDevices({ targets, pods, perPod: k, previous: first.assignments });
          expect(again.assignments).toEqual(first.assignments);
          expect(again.moved).toBe(0);
          // Some pods go (terminating), as many new ones come: only the leavers' devices move.
          const gone = new Set(leaving.map((i) => pods[i]).filter((p): p is string => p !== undefined));
          const next = [...pods.filter((p) => !gone.has(p)), ...names(gone.size, 'new')];
          const after = assignDevices({ targets, pods: next, perPod: k, previous: first.assignments });
          // A surviving pod keeps all it had (an idle one may take some of the leavers' devices).
          for (const p of pods) if (!gone.has(p)) expect(after.assignments[p]).toEqual(expect.arrayContaining(first.assignments[p]!));
          const lost = [...gone].reduce((s, p) => s + (first.assignments[p]?.length ?? 0), 0);
          expect(after.moved).toBe(lost);
          expect(after.unassigned).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
