/**
 * MiningPool status from the circuit and the last probe (pure). Written only when something a
 * reader cares about changes (circuit, counts, availability, error, latency beyond a dead band),
 * so a steady pool costs no API writes however often it is probed.
 */
import type { Condition, MiningPoolStatus } from '../../api/v1alpha1/index.js';
import { MiningPoolConditionType } from '../../api/v1alpha1/index.js';
import { setCondition } from '../minerfleet/conditions.js';
import { initialCircuit, isAvailable, type Circuit, type ProbePolicy } from './circuit.js';
import type { ProbeResult } from './probe.js';

/** Latency changes smaller than this (ms, or 50 %) are not written: probe timing jitters on a busy node. */
export const LATENCY_DEAD_BAND_MS = 50;

export function withinDeadBand(prev: number | undefined, next: number): boolean {
  if (prev === undefined) return false;
  return Math.abs(next - prev) <= Math.max(LATENCY_DEAD_BAND_MS, prev * 0.5);
}

/** The circuit as a new leader finds it in status (so back-off and counts carry over). */
export function circuitFromStatus(s: MiningPoolStatus | undefined, nowMs: number): Circuit {
  if (!s?.circuit) return initialCircuit(nowMs);
  const next = s.nextProbeTime ? Date.parse(s.nextProbeTime) : nowMs;
  return {
    state: s.circuit,
    consecutiveFailures: s.consecutiveFailures ?? 0,
    consecutiveSuccesses: s.consecutiveSuccesses ?? 0,
    opens: s.circuit === 'Closed' ? 0 : 1,
    nextProbeAtMs: Number.isFinite(next) ? next : nowMs,
  };
}

export interface PoolStatusInputs {
  prev: MiningPoolStatus | undefined;
  circuit: Circuit;
  result: ProbeResult | { ok: false; reason: string; message: string; totalMs: number };
  policy: ProbePolicy;
  generation: number;
  now: string;
}

export function computePoolStatus(i: PoolStatusInputs): MiningPoolStatus {
  const prev = i.prev ?? {};
  const c = i.circuit;
  let conds = (prev.conditions ?? []) as Condition[];
  const set = (status: 'True' | 'False', reason: string, message: string) => {
    conds = setCondition(conds, { type: MiningPoolConditionType.Available, status, reason, message }, i.generation, i.now);
  };
  const r = i.result;
  if (isAvailable(c)) {
    if (r.ok) set('True', 'ProbeSucceeded', 'Stratum handshake and first job received');
    else set('True', 'ProbeFailing', `${c.consecutiveFailures}/${i.policy.failureThreshold} probes failed (${r.reason})`);
  } else if (c.state === 'HalfOpen') {
    set('False', 'Recovering', `${c.consecutiveSuccesses}/${i.policy.successThreshold} probes succeeded since the circuit opened`);
  } else {
    set('False', r.ok ? 'Recovering' : r.reason, r.ok ? 'trial probe succeeded' : r.message);
  }
  const status: MiningPoolStatus = {
    conditions: conds,
    circuit: c.state,
    consecutiveFailures: c.consecutiveFailures,
    consecutiveSuccesses: c.consecutiveSuccesses,
    observedGeneration: i.generation,
  };
  const latency = r.ok ? r.firstJobMs : undefined;
  if (latency !== undefined) status.latencyMs = withinDeadBand(prev.latencyMs, latency) ? prev.latencyMs! : latency;
  else if (prev.latencyMs !== undefined) status.latencyMs = prev.latencyMs;
  if (!r.ok) status.lastError = r.message.slice(0, 4096);
  else if (prev.lastError !== undefined) status.lastError = prev.lastError;
  if (c.state !== 'Closed') status.nextProbeTime = new Date(c.nextProbeAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  // Times only move with a write that happens anyway, so they never cause one.
  status.lastProbeTime = prev.lastProbeTime ?? i.now;
  if (prev.lastSuccessTime) status.lastSuccessTime = prev.lastSuccessTime;
  if (!samePoolStatus(status, i.prev)) {
    status.lastProbeTime = i.now;
    if (r.ok) status.lastSuccessTime = i.now;
  }
  return status;
}

const COMPARED: Array<keyof MiningPoolStatus> = [
  'circuit',
  'consecutiveFailures',
  'consecutiveSuccesses',
  'latencyMs',
  'lastError',
  'nextProbeTime',
  'observedGeneration',
];

/** Same as far as the fields that matter go (times excluded: they follow the others). */
export function samePoolStatus(a: MiningPoolStatus, b: MiningPoolStatus | undefined): boolean {
  if (!b) return false;
  for (const k of COMPARED) if (a[k] !== b[k]) return false;
  const ca = a.conditions ?? [];
  const cb = b.conditions ?? [];
  if (ca.length !== cb.length) return false;
  for (const x of ca) {
    const y = cb.find((c) => c.type === x.type);
    if (
      !y ||
      y.status !== x.status ||
      y.reason !== x.reason ||
      y.message !== x.message ||
      y.lastTransitionTime !== x.lastTransitionTime ||
      y.observedGeneration !== x.observedGeneration
    )
      return false;
  }
  return true;
}
