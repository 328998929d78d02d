/** Unit tests of the MiningPool status computation: a steady pool, however jittery its probe timing, costs no writes. */
import { describe, expect, it } from 'vitest';
import { initialCircuit, nextCircuit, type ProbePolicy } from '../../operator/src/controllers/miningpool/circuit.js';
import type { ProbeResult } from '../../operator/src/controllers/miningpool/probe.js';
import { computePoolStatus, latencyBucket, LATENCY_WINDOW, nextLatencyMs, samePoolStatus } from '../../operator/src/controllers/miningpool/status.js';
import type { MiningPoolStatus } from '../../operator/src/api/v1alpha1/index.js';

const policy: ProbePolicy = { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 2 };
const ok = (firstJobMs: number): ProbeResult => ({ ok: true, connectMs: 1, firstJobMs, totalMs: firstJobMs });

/** Probes a pool with these latencies; returns how many status writes they cost and the last status. */
function simulate(latencies: number[], start?: MiningPoolStatus): { writes: number; status: MiningPoolStatus | undefined; history: number[] } {
  let status = start;
  let circuit = initialCircuit(0);
  let recent: number[] = [];
  let writes = 0;
  const history: number[] = [];
  latencies.forEach((l, i) => {
    const now = i * 10_000;
    circuit = nextCircuit(circuit, true, policy, now, () => 0.5);
    recent = [...recent, l].slice(-LATENCY_WINDOW);
    const next = computePoolStatus({
      prev: status,
      circuit,
      result: ok(l),
      policy,
      recentLatenciesMs: recent,
      generation: 1,
      now: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    if (!samePoolStatus(next, status)) {
      writes++;
      status = next;
      history.push(next.latencyMs!);
    }
  });
  return { writes, status, history };
}

describe('pool latency in status', () => {
  it('is rounded to the 1-2-5 series', () => {
    expect([0, 1, 3, 4, 7, 8, 14, 16, 140, 160, 350, 380, 1500, 4000].map(latencyBucket)).toEqual([0, 1, 2, 5, 5, 10, 10, 20, 100, 200, 500, 500, 2000, 5000]);
  });

  it('a steady pool on a loaded node (timing jitter x50, single spikes to 400 ms) costs no writes after the first ones', () => {
    // Deterministic jitter: 3..150 ms with one 400 ms spike every 7 probes.
    const lat = Array.from({ length: 200 }, (_, i) => (i % 7 === 3 ? 400 : 3 + ((i * 37) % 148)));
    const { writes } = simulate(lat);
    // First probe: Closed with 1/2 successes; second: consecutiveSuccesses reaches the cap. No more.
    expect(writes).toBeLessThanOrEqual(2);
  });

  it('a lasting large change is written once, in its bucket', () => {
    const fast = Array.from({ length: 20 }, () => 4);
    const slow = Array.from({ length: 20 }, (_, i) => 1900 + (i % 2) * 150);
    const { status, history } = simulate([...fast, ...slow, ...fast]);
    expect(history.at(-1)).toBe(5);
    expect(history).toContain(2000);
    expect(history.filter((h) => h === 2000)).toHaveLength(1);
    expect(status?.latencyMs).toBe(5);
  });

  it('hysteresis: a latency on a bucket edge does not flip between buckets', () => {
    expect(nextLatencyMs(undefined, [140])).toBe(100);
    // 141..160 ms round to 100 or 200 but differ from 100 by less than 250 ms.
    for (const l of [141, 150, 155, 160, 170]) expect(nextLatencyMs(100, [l, l, l])).toBe(100);
    // A single slow probe among fast ones is not a change (median of the window).
    expect(nextLatencyMs(5, [5, 900, 6])).toBe(5);
    expect(nextLatencyMs(5, [900, 950, 6])).toBe(1000);
    // No success: the written value stays.
    expect(nextLatencyMs(50, [])).toBe(50);
  });
});

describe('pool conditions', () => {
  it('a Ready condition (the kubectl Ready column) follows the circuit, with reason and message like Available', () => {
    const open = { ...initialCircuit(0), state: 'Open' as const, consecutiveFailures: 3, nextProbeAtMs: 60_000 };
    const failed: ProbeResult = { ok: false, reason: 'ConnectFailed', message: 'connect ECONNREFUSED 127.0.0.1:1', totalMs: 2 };
    const down = computePoolStatus({ prev: undefined, circuit: open, result: failed, policy, generation: 4, now: '2026-01-01T00:00:00Z' });
    const by = Object.fromEntries(down.conditions!.map((c) => [c.type, c]));
    expect(by.Ready).toEqual({ ...by.Available, type: 'Ready' });
    expect(by.Ready).toMatchObject({ status: 'False', reason: 'ConnectFailed', message: 'connect ECONNREFUSED 127.0.0.1:1', observedGeneration: 4 });
    const up = computePoolStatus({ prev: down, circuit: initialCircuit(0), result: ok(20), policy, generation: 4, now: '2026-01-01T00:01:00Z' });
    expect(up.conditions!.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ProbeSucceeded',
      lastTransitionTime: '2026-01-01T00:01:00Z',
    });
  });
});
