/**
 * Which supervisor pod drives which networked ASIC (spec.device.network.targetsPerPod), as a pure
 * function of (targets, the fleet's live pods, capacity, previous assignment). Published in the
 * runtime ConfigMap as `deviceAssignments`; each supervisor drives only its own list, so no two
 * pods ever send a device different pools or fight over its suspension.
 *
 * - Disjoint: every target is in at most one pod's list (a previous map naming a device twice,
 *   e.g. edited by hand, keeps it with the first pod by name).
 * - Minimal moves: a pod keeps the devices it had while it lives and is within capacity; only
 *   devices of pods that went away (or terminate: the caller leaves those out), new targets, or a
 *   pod over a lowered capacity move.
 * - Capacity: at most `perPod` devices a pod. With fewer pods than ceil(N / perPod) (pods still
 *   starting) the rest stays unassigned until they come.
 * - Deterministic: a free device goes to the least loaded pod with room; ties by rendezvous score
 *   of (pod, device), then by name, so every leader computes the same map.
 */
import { rendezvousScore } from './failover.js';

export interface DeviceAssignmentInput {
  /** Target names in spec (or ConfigMap) order. */
  targets: string[];
  /** The fleet's supervisor pods that may drive devices: not terminating. */
  pods: string[];
  /** spec.device.network.targetsPerPod. */
  perPod: number;
  /** pod -> devices, as last published. */
  previous: Record<string, string[]>;
}

export interface DeviceAssignment {
  /** pod -> device names (in target order); every live pod is present, maybe with an empty list. */
  assignments: Record<string, string[]>;
  /** Targets no pod has room for yet. */
  unassigned: string[];
  /** Devices whose pod changed from the previous assignment (a previous owner existed). */
  moved: number;
}

export function assignDevices(i: DeviceAssignmentInput): DeviceAssignment {
  const perPod = Math.max(1, Math.floor(i.perPod));
  const order = new Map<string, number>();
  i.targets.forEach((t, idx) => {
    if (!order.has(t)) order.set(t, idx);
  });
  const pods = [...new Set(i.pods)].sort();
  const owned = new Map<string, string[]>(pods.map((p) => [p, []]));
  const owner = new Map<string, string>();

  // Keep what each live pod had, within capacity: the devices that score highest for it stay.
  for (const pod of pods) {
    const had = [...new Set(i.previous[pod] ?? [])].filter((d) => order.has(d) && !owner.has(d));
    had.sort((a, b) => rendezvousScore(pod, b) - rendezvousScore(pod, a) || (a < b ? -1 : 1));
    for (const d of had.slice(0, perPod)) {
      owned.get(pod)!.push(d);
      owner.set(d, pod);
    }
  }

  // Free devices, in target order, to the least loaded pod with room.
  const unassigned: string[] = [];
  for (const d of order.keys()) {
    if (owner.has(d)) continue;
    let best: string | undefined;
    for (const pod of pods) {
      const n = owned.get(pod)!.length;
      if (n >= perPod) continue;
      if (best === undefined) {
        best = pod;
        continue;
      }
      const m = owned.get(best)!.length;
      if (n < m || (n === m && rendezvousScore(pod, d) > rendezvousScore(best, d))) best = pod;
    }
    if (best === undefined) unassigned.push(d);
    else {
      owned.get(best)!.push(d);
      owner.set(d, best);
    }
  }

  const previousOwner = new Map<string, string>();
  for (const [pod, devices] of Object.entries(i.previous)) for (const d of devices) if (!previousOwner.has(d)) previousOwner.set(d, pod);
  let moved = 0;
  for (const [d, pod] of owner) if (previousOwner.has(d) && previousOwner.get(d) !== pod) moved++;

  const assignments: Record<string, string[]> = {};
  for (const pod of pods) assignments[pod] = owned.get(pod)!.sort((a, b) => order.get(a)! - order.get(b)!);
  return { assignments, unassigned, moved };
}
