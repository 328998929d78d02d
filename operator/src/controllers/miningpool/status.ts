/**
 * MiningPool status from the circuit and the last probe (pure). Written only when something a
 * reader cares about changes (circuit, counts, availability, error, latency bucket beyond a dead band),
 * so a steady pool costs no API writes however often it is probed.
 */
import type { MiningPoolStatus } from '../../api/v1alpha1/index.js';
import { MiningPoolConditionType } from '../../api/v1alpha1/index.js';
import { setCondition } from '../minerfleet/conditions.js';
import { initialCircuit, isAvailable, type Circuit, type ProbePolicy } from './circuit.js';
import type { ProbeResult } from './probe.js';

/**
 * Latency as written to status. Probe timing on a busy node jitters by a factor of ten (a 3 ms
 * handshake takes 150 ms while the CPU is saturated), and a readable latency only needs its order
 * of magnitude, so status holds a coarse value that moves only on a lasting, large change:
 *  - the candidate is the median of the last LATENCY_WINDOW probes (one slow probe is not a change);
 *  - it is rounded to the 1-2-5 series (1, 2, 5, 10, 20, 50, 100, ... ms);
 *  - it replaces the written value only when it is another bucket AND differs by at least
 *    LATENCY_DEAD_BAND_MS and by a factor of LATENCY_DEAD_BAND_RATIO (hysteresis: a latency
 *    sitting on a bucket edge does not flip between two buckets).
 * The exact figures are in the minefleet_pool_probe_duration_seconds histogram and the probe audit.
 */
export const LATENCY_WINDOW = 3;
export const LATENCY_DEAD_BAND_MS = 250;
export const LATENCY_DEAD_BAND_RATIO = 2;

/** The 1-2-5 bucket nearest to ms (log scale); 0 stays 0. */
export function latencyBucket(ms: number): number {
  if (!(ms > 0)) return 0;
  const decade = 10 ** Math.floor(Math.log10(ms));
  let best = decade;
  for (const m of [1, 2, 5, 10]) {
    const v = m * decade;
    if (Math.abs(Math.log(ms / v)) < Math.abs(Math.log(ms / best))) best = v;
  }
  return Math.max(1, Math.round(best));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The latencyMs to write given the written one and the recent successful probes (newest last). */
export function nextLatencyMs(prev: number | undefined, recent: number[]): number | undefined {
  if (recent.length === 0) return prev;
  const candidate = median(recent.slice(-LATENCY_WINDOW));
  const bucket = latencyBucket(candidate);
  if (prev === undefined) return bucket;
  if (bucket === prev) return prev;
  const hi = Math.max(candidate, prev);
  const lo = Math.min(candidate, prev);
  const moved = hi - lo >= LATENCY_DEAD_BAND_MS && hi >= lo * LATENCY_DEAD_BAND_RATIO;
  return moved ? bucket : prev;
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
  /** Times to first job of the recent successful probes, newest last (this one included). */
  recentLatenciesMs?: number[];
  generation: number;
  now: string;
}

export function computePoolStatus(i: PoolStatusInputs): MiningPoolStatus {
  const prev = i.prev ?? {};
  const c = i.circuit;
  let conds = prev.conditions ?? [];
  const set = (status: 'True' | 'False', reason: string, message: string) => {
    conds = setCondition(conds, { type: MiningPoolConditionType.Available, status, reason, message }, i.generation, i.now);
    conds = setCondition(conds, { type: MiningPoolConditionType.Ready, status, reason, message }, i.generation, i.now);
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
  const recent = i.recentLatenciesMs ?? (r.ok ? [r.firstJobMs] : []);
  const latency = r.ok ? nextLatencyMs(prev.latencyMs, recent) : prev.latencyMs;
  if (latency !== undefined) status.latencyMs = latency;
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
