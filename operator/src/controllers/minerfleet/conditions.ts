import type { Condition } from '../../api/v1alpha1/index.js';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Sets condition `c` in `existing` (metav1 semantics): lastTransitionTime changes only when the
 * status changes; reason, message and observedGeneration always follow the latest reconcile.
 */
export function setCondition(existing: Condition[], c: ConditionInput, generation: number, now: string): Condition[] {
  const prev = existing.find((e) => e.type === c.type);
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
  };
  return [...existing.filter((e) => e.type !== c.type), next];
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
