import { describe, expect, it } from 'vitest';
import { evaluate, type EconomicsPolicy, type EconomicsState, type Observation } from '../../operator/src/economics/evaluate.js';

const policy: EconomicsPolicy = { minMarginPercent: 0, resumeMarginPercent: 10, evaluationWindowSeconds: 60, minOffSeconds: 120, onStaleFeed: 'Hold' };
const m = (marginPercent: number | undefined): Observation => ({ kind: 'margin', marginPercent });
const stale: Observation = { kind: 'stale', feeds: ['LTC.price'] };
const S = 1000;

/** Runs observations one per `stepMs` from t=0 and returns the decisions and final state. */
function run(obs: (t: number) => Observation, untilMs: number, stepMs: number, p = policy, start: EconomicsState = { suspended: false }) {
  let state = start;
  const decisions: Array<{ t: number; decision: string; reason: string }> = [];
  for (let t = 0; t <= untilMs; t += stepMs) {
    const e = evaluate(state, obs(t), t, p);
    state = e.state;
    decisions.push({ t, decision: e.decision, reason: e.reason });
  }
  return { state, decisions, flips: decisions.filter((d) => d.decision !== 'hold') };
}

describe('evaluate', () => {
  it('suspends only after the margin stayed below minMarginPercent for the window', () => {
    let s: EconomicsState = { suspended: false };
    let e = evaluate(s, m(-5), 0, policy);
    expect(e).toMatchObject({ decision: 'hold', reason: 'MarginBelowThreshold', nextCheckAt: 60 * S });
    expect(e.state.belowSince).toBe(0);
    s = e.state;
    e = evaluate(s, m(-5), 59 * S, policy);
    expect(e.decision).toBe('hold');
    e = evaluate(e.state, m(-5), 60 * S, policy);
    expect(e).toMatchObject({ decision: 'suspend', reason: 'MarginBelowThreshold', state: { suspended: true, lastTransitionTime: 60 * S } });
    expect(e.message).toMatch(/margin -5% stayed below minMarginPercent 0% for 60s/);
  });

  it('a margin that recovers restarts the window', () => {
    let e = evaluate({ suspended: false }, m(-5), 0, policy);
    e = evaluate(e.state, m(1), 30 * S, policy);
    expect(e).toMatchObject({ decision: 'hold', reason: 'Profitable' });
    expect(e.state.belowSince).toBeUndefined();
    e = evaluate(e.state, m(-5), 40 * S, policy);
    e = evaluate(e.state, m(-5), 90 * S, policy);
    expect(e.decision).toBe('hold');
    e = evaluate(e.state, m(-5), 100 * S, policy);
    expect(e.decision).toBe('suspend');
  });

  it('hysteresis: between the thresholds a mining fleet mines and a suspended fleet stays suspended', () => {
    expect(run(() => m(5), 600 * S, 10 * S).flips).toEqual([]);
    const r = run(() => m(5), 600 * S, 10 * S, policy, { suspended: true, lastTransitionTime: -1e9 });
    expect(r.flips).toEqual([]);
    expect(r.state.suspended).toBe(true);
    expect(r.decisions.at(-1)!.reason).toBe('MarginBelowResumeThreshold');
  });

  it('resumes after the margin stayed above resumeMarginPercent for the window, not before minOffSeconds', () => {
    // suspended at t=0: the margin is good from t=0, the window ends at 60 s but minOff at 120 s
    let e = evaluate({ suspended: true, lastTransitionTime: 0 }, m(20), 0, policy);
    expect(e).toMatchObject({ decision: 'hold', reason: 'MarginRecovering', nextCheckAt: 120 * S });
    e = evaluate(e.state, m(20), 100 * S, policy);
    expect(e.decision).toBe('hold');
    expect(e.message).toMatch(/resuming in 20s/);
    e = evaluate(e.state, m(20), 120 * S, policy);
    expect(e).toMatchObject({ decision: 'resume', reason: 'MarginRecovered', state: { suspended: false, lastTransitionTime: 120 * S } });
  });

  it('free electricity (no margin) counts as paying', () => {
    const e = evaluate({ suspended: true }, m(undefined), 0, { ...policy, evaluationWindowSeconds: 60 });
    expect(e.reason).toBe('MarginRecovering');
    expect(evaluate({ suspended: false }, m(undefined), 0, policy).reason).toBe('Profitable');
  });

  it('onStaleFeed Hold keeps the state and the windows whatever the staleness lasts, and never flips on a stale sample', () => {
    const mining = run(() => stale, 3600 * S, 10 * S);
    expect(mining.flips).toEqual([]);
    expect(mining.state.suspended).toBe(false);
    expect(mining.decisions[0]!.reason).toBe('StaleFeed');
    const suspended = run(() => stale, 3600 * S, 10 * S, policy, { suspended: true, lastTransitionTime: -1e9 });
    expect(suspended.flips).toEqual([]);
    expect(suspended.state.suspended).toBe(true);
    // low from t=0 with a stale sample at 60 s: the window completes, but the flip waits for a real sample
    const r = run((t) => (t === 60 * S ? stale : m(-10)), 100 * S, 10 * S);
    expect(r.flips).toEqual([{ t: 70 * S, decision: 'suspend', reason: 'MarginBelowThreshold' }]);
    expect(r.decisions[6]).toEqual({ t: 60 * S, decision: 'hold', reason: 'StaleFeed' });
  });

  it('onStaleFeed Suspend suspends once the staleness lasted the window (never on one bad sample) and never resumes on stale data', () => {
    const p = { ...policy, onStaleFeed: 'Suspend' as const };
    const one = run((t) => (t === 30 * S ? stale : m(50)), 600 * S, 10 * S, p);
    expect(one.flips).toEqual([]);
    const lasting = run(() => stale, 600 * S, 10 * S, p);
    expect(lasting.flips).toEqual([{ t: 60 * S, decision: 'suspend', reason: 'StaleFeed' }]);
    const suspended = run(() => stale, 3600 * S, 10 * S, p, { suspended: true, lastTransitionTime: -1e9 });
    expect(suspended.flips).toEqual([]);
  });

  it('a price oscillating around the threshold every 10 s for 5 minutes causes at most one suspension', () => {
    // margin alternates every 10 s between just below minMarginPercent and above resumeMarginPercent,
    // evaluated every second
    const osc = (t: number) => m(Math.floor(t / (10 * S)) % 2 === 0 ? -1 : 11);
    const a = run(osc, 300 * S, S);
    expect(a.flips.filter((f) => f.decision === 'suspend').length).toBeLessThanOrEqual(1);
    expect(a.flips).toEqual([]);
    // the same after a long dip (suspended once), then oscillating around the resume threshold
    const dipThenOsc = (t: number) => (t <= 60 * S ? m(-20) : m(Math.floor(t / (10 * S)) % 2 === 0 ? 9 : 11));
    const b = run(dipThenOsc, 360 * S, S);
    expect(b.flips).toEqual([{ t: 60 * S, decision: 'suspend', reason: 'MarginBelowThreshold' }]);
    // a short window: flips are spaced by minOffSeconds at least
    const fast = { ...policy, evaluationWindowSeconds: 5, minOffSeconds: 120 };
    const c = run(osc, 300 * S, S, fast);
    expect(c.flips.filter((f) => f.decision === 'suspend').length).toBeLessThanOrEqual(2);
    for (let i = 1; i < c.flips.length; i++) expect(c.flips[i]!.t - c.flips[i - 1]!.t).toBeGreaterThanOrEqual(120 * S);
  });

  it('unknown input never flips and keeps the windows', () => {
    const e = evaluate(
      { suspended: false, belowSince: 0 },
      { kind: 'unknown', reason: 'HashrateUnknown', message: 'no hashrate measured yet' },
      10_000 * S,
      policy,
    );
    expect(e).toMatchObject({ decision: 'hold', reason: 'HashrateUnknown', state: { suspended: false } });
    expect(e.state.belowSince).toBe(0);
  });
});
