/**
 * The live channel: the operator writes `runtime.json` (this shape) into the `<fleet>-runtime`
 * ConfigMap; running miners watch it and switch pool without a restart. `revision` only grows, so
 * a miner ignores a stale value it may see after a reconnecting watch.
 */
import { z } from 'zod';

export const RUNTIME_KEY_DEFAULT = 'runtime.json';

export const RuntimeStateSchema = z
  .object({
    activePool: z.string().min(1).meta({ description: 'Pool the fleet should mine on now' }),
    revision: z.number().int().min(0).meta({ description: 'Monotonic revision written by the operator' }),
    assignments: z
      .record(z.string().min(1).max(253), z.string().min(1).max(253))
      .optional()
      .meta({ description: 'Weighted failover: pod name -> pool; a pod not listed uses activePool' }),
    // For the economics controller: `suspended: true` pauses a fleet whose hashing cannot be
    // scaled away (networked ASICs, `device.kind: network`): `miner supervise` disables every
    // hashing unit of its devices and re-enables them when the flag is false or absent.
    suspended: z.boolean().optional().meta({ description: 'Economic suspension: external devices stop hashing while true' }),
    // Network fleets with several supervisor pods (spec.device.network.targetsPerPod): which pod
    // drives which device, disjoint, so two supervisors never fight over one ASIC.
    deviceAssignments: z
      .record(z.string().min(1).max(253), z.array(z.string().min(1).max(63)).max(10000))
      .optional()
      .meta({ description: 'pod name -> names of the devices it drives; absent: every pod drives all, present without a pod: that pod drives none' }),
  })
  .strict();

export type RuntimeState = z.output<typeof RuntimeStateSchema>;

/** The pool the fleet wants this pod on. */
export function poolForPod(state: RuntimeState, pod: string | undefined): string {
  return (pod !== undefined ? state.assignments?.[pod] : undefined) ?? state.activePool;
}

/**
 * The devices this supervisor pod drives: all (null) when the map is absent (one supervisor, or an
 * operator that does not shard), else exactly its list (none when the map does not name it yet).
 */
export function devicesForPod(state: Pick<RuntimeState, 'deviceAssignments'>, pod: string | undefined): Set<string> | null {
  if (!state.deviceAssignments) return null;
  return new Set((pod !== undefined ? state.deviceAssignments[pod] : undefined) ?? []);
}

/** Name of the runtime ConfigMap for a fleet. */
export function runtimeConfigMapName(fleet: string): string {
  return `${fleet}-runtime`;
}

/** Parse the JSON text of the ConfigMap key; throws an Error naming what is wrong. */
export function parseRuntimeState(text: string): RuntimeState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`runtime state is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const r = RuntimeStateSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`runtime state invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
