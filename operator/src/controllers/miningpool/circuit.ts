/**
 * The per-pool circuit breaker as a pure state machine. Its whole state lives in the MiningPool's
 * status (circuit, consecutive counts, nextProbeTime), so a new leader continues the back-off
 * where the old one left it; that is why this is not an in-process breaker library.
 *
 * Closed --failureThreshold failures in a row--> Open --back-off elapsed--> one trial probe
 * (HalfOpen): success --successThreshold in a row--> Closed; any failure --> Open, longer back-off.
 */
import type { CircuitState } from '../../api/v1alpha1/index.js';

export interface ProbePolicy {
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  successThreshold: number;
}

export interface Circuit {
  state: CircuitState;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** How many times in a row the circuit opened (grows the back-off). */
  opens: number;
  nextProbeAtMs: number;
}

/** Longest wait while Open: recovery is noticed within this bound. */
export const MAX_BACKOFF_FACTOR = 8;
export const MAX_BACKOFF_MS = 300_000;

export function initialCircuit(nowMs: number): Circuit {
  return { state: 'Closed', consecutiveFailures: 0, consecutiveSuccesses: 0, opens: 0, nextProbeAtMs: nowMs };
}

/** Back-off before the n-th trial probe: interval x 2^(n-1), capped, with "equal jitter". */
export function openBackoffMs(policy: ProbePolicy, opens: number, random: () => number): number {
  const interval = policy.intervalSeconds * 1000;
  const cap = Math.min(MAX_BACKOFF_MS, Math.max(interval, interval * MAX_BACKOFF_FACTOR));
  const base = Math.min(cap, interval * 2 ** Math.max(0, Math.min(opens - 1, 20)));
  return Math.round(base / 2 + random() * (base / 2));
}

/** The circuit after one probe that ended at `nowMs`. */
export function nextCircuit(prev: Circuit, ok: boolean, policy: ProbePolicy, nowMs: number, random: () => number = Math.random): Circuit {
  const interval = policy.intervalSeconds * 1000;
  if (ok) {
    const successes = prev.consecutiveSuccesses + 1;
    if (prev.state === 'Closed')
      return {
        state: 'Closed',
        consecutiveFailures: 0,
        consecutiveSuccesses: Math.min(successes, policy.successThreshold),
        opens: 0,
        nextProbeAtMs: nowMs + interval,
      };
    // Open (its trial probe) or HalfOpen
    if (successes >= policy.successThreshold)
      return { state: 'Closed', consecutiveFailures: 0, consecutiveSuccesses: successes, opens: 0, nextProbeAtMs: nowMs + interval };
    return { state: 'HalfOpen', consecutiveFailures: 0, consecutiveSuccesses: successes, opens: prev.opens, nextProbeAtMs: nowMs + interval };
  }
  const failures = prev.consecutiveFailures + 1;
  if (prev.state === 'Closed' && failures < policy.failureThreshold) {
    return { state: 'Closed', consecutiveFailures: failures, consecutiveSuccesses: 0, opens: 0, nextProbeAtMs: nowMs + interval };
  }
  const opens = prev.opens + 1;
  return { state: 'Open', consecutiveFailures: failures, consecutiveSuccesses: 0, opens, nextProbeAtMs: nowMs + openBackoffMs(policy, opens, random) };
}

/** Available means the circuit is Closed: miners should be sent there. */
export function isAvailable(c: Circuit): boolean {
  return c.state === 'Closed';
}
