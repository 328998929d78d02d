/** Unit tests of the per-pool circuit breaker (pure state machine). */
import { describe, expect, it } from 'vitest';
import { initialCircuit, isAvailable, nextCircuit, openBackoffMs, type Circuit, type ProbePolicy } from '../../operator/src/controllers/miningpool/circuit.js';

const policy: ProbePolicy = { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 2 };
const run = (c: Circuit, results: boolean[], p = policy, random = () => 0.5) => {
  let t = 0;
  const states: string[] = [];
  for (const ok of results) {
    t = Math.max(t, c.nextProbeAtMs);
    c = nextCircuit(c, ok, p, t, random);
    states.push(c.state);
  }
  return { c, states };
};

describe('circuit breaker', () => {
  it('failureThreshold: opens after that many failures in a row, not before', () => {
    expect(run(initialCircuit(0), [false, false]).states).toEqual(['Closed', 'Closed']);
    expect(run(initialCircuit(0), [false, false, false]).states).toEqual(['Closed', 'Closed', 'Open']);
    expect(run(initialCircuit(0), [false, false, true, false, false]).states.at(-1)).toBe('Closed');
    expect(run(initialCircuit(0), [false], { ...policy, failureThreshold: 1 }).states).toEqual(['Open']);
  });

  it('successThreshold: HalfOpen after a good trial, Closed after that many', () => {
    const { states } = run(initialCircuit(0), [false, false, false, true, true]);
    expect(states).toEqual(['Closed', 'Closed', 'Open', 'HalfOpen', 'Closed']);
    expect(run(initialCircuit(0), [false, false, false, true], { ...policy, successThreshold: 1 }).states.at(-1)).toBe('Closed');
    expect(run(initialCircuit(0), [false, false, false, true, false]).states.at(-1)).toBe('Open');
  });

  it('back-off grows exponentially while Open, with jitter, capped; interval otherwise', () => {
    const opened = run(initialCircuit(0), [false, false, false]).c;
    const waits: number[] = [];
    let c = opened;
    let t: number;
    waits.push(c.nextProbeAtMs - 20_000);
    for (let i = 0; i < 6; i++) {
      t = c.nextProbeAtMs;
      c = nextCircuit(c, false, policy, t, () => 0.5);
      waits.push(c.nextProbeAtMs - t);
    }
    expect(waits.slice(0, 5)).toEqual([7500, 15_000, 30_000, 60_000, 60_000]);
    expect(openBackoffMs(policy, 1, () => 0)).toBe(5000);
    expect(openBackoffMs(policy, 1, () => 0.999999)).toBe(10_000);
    expect(nextCircuit(initialCircuit(0), true, policy, 0).nextProbeAtMs).toBe(10_000);
    // intervalSeconds sets both the probe period and the back-off base
    expect(openBackoffMs({ ...policy, intervalSeconds: 5 }, 2, () => 0.5)).toBe(7500);
  });

  it('Available only when Closed; steady success does not grow the stored counter', () => {
    const { c } = run(initialCircuit(0), [true, true, true, true]);
    expect(isAvailable(c)).toBe(true);
    expect(c.consecutiveSuccesses).toBe(policy.successThreshold);
    expect(isAvailable(run(initialCircuit(0), [false, false, false]).c)).toBe(false);
  });
});
