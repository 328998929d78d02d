/**
 * The economics decision as a pure function of (previous state, what was observed, now).
 * The state lives in the fleet's status (suspended, suspendedSince, belowThresholdSince,
 * aboveThresholdSince), so a new leader continues where the old one stopped.
 */
import type { StaleFeedPolicy } from '../api/v1alpha1/constants.js';

export interface EconomicsPolicy {
  minMarginPercent: number;
  resumeMarginPercent: number;
  evaluationWindowSeconds: number;
  minOffSeconds: number;
  onStaleFeed: StaleFeedPolicy;
}

/** Times are epoch milliseconds. */
export interface EconomicsState {
  suspended: boolean;
  /** last suspend or resume (minOffSeconds counts from here) */
  lastTransitionTime?: number;
  /** since when the margin is below minMarginPercent (or, with onStaleFeed Suspend, the feeds are stale) */
  belowSince?: number;
  /** since when the margin is above resumeMarginPercent */
  aboveSince?: number;
}

export type Observation =
  /** marginPercent undefined: electricity is free, any revenue pays */
  | { kind: 'margin'; marginPercent: number | undefined }
  /** a feed is stale or malformed: no margin can be computed */
  | { kind: 'stale'; feeds: string[] }
  /** nothing to judge yet (e.g. no measured hashrate): never a reason to flip */
  | { kind: 'unknown'; reason: string; message: string };

export type Decision = 'suspend' | 'resume' | 'hold';

export interface Evaluation {
  state: EconomicsState;
  decision: Decision;
  /** CamelCase reason for conditions and Events */
  reason: string;
  message: string;
  /** when a hold could turn into a flip without new input (window or minOff elapsing) */
  nextCheckAt?: number;
}

const fmt = (m: number) => `${Math.round(m * 100) / 100}%`;
const secs = (ms: number) => `${Math.max(0, Math.ceil(ms / 1000))}s`;

export function evaluate(previous: EconomicsState, obs: Observation, now: number, policy: EconomicsPolicy): Evaluation {
  const windowMs = policy.evaluationWindowSeconds * 1000;
  const minOffMs = policy.minOffSeconds * 1000;
  const flipAllowedAt = previous.lastTransitionTime === undefined ? -Infinity : previous.lastTransitionTime + minOffMs;

  if (obs.kind === 'unknown') {
    return { state: { ...previous }, decision: 'hold', reason: obs.reason, message: obs.message };
  }
  const staleText = obs.kind === 'stale' ? `stale or malformed feed(s): ${obs.feeds.join(', ')}` : '';

  if (obs.kind === 'stale' && policy.onStaleFeed === 'Hold') {
    // Hold freezes everything, the windows included: a stale sample neither flips the fleet nor
    // restarts a window (so an operator restart, whose feeds start unfetched, loses no progress).
    return {
      state: { ...previous },
      decision: 'hold',
      reason: 'StaleFeed',
      message: `${staleText}; onStaleFeed Hold keeps the fleet ${previous.suspended ? 'suspended' : 'mining'}`,
    };
  }

  // Stale with onStaleFeed Suspend counts as "does not pay": it must last the window like a low
  // margin, so one bad sample never flips the fleet.
  const margin = obs.kind === 'margin' ? obs.marginPercent : undefined;
  const below = obs.kind === 'stale' || (margin !== undefined && margin < policy.minMarginPercent);
  const above = obs.kind === 'margin' && (margin === undefined || margin > policy.resumeMarginPercent);
  const marginText = obs.kind === 'stale' ? staleText : margin === undefined ? 'electricity costs nothing' : `margin ${fmt(margin)}`;

  if (!previous.suspended) {
    if (!below) {
      return {
        state: { suspended: false, lastTransitionTime: previous.lastTransitionTime },
        decision: 'hold',
        reason: 'Profitable',
        message: `${marginText} is not below minMarginPercent ${fmt(policy.minMarginPercent)}`,
      };
    }
    const belowSince = previous.belowSince ?? now;
    const dueAt = Math.max(belowSince + windowMs, flipAllowedAt);
    const reason = obs.kind === 'stale' ? 'StaleFeed' : 'MarginBelowThreshold';
    if (now >= dueAt) {
      return {
        state: { suspended: true, lastTransitionTime: now },
        decision: 'suspend',
        reason,
        message:
          obs.kind === 'stale'
            ? `${staleText} for ${secs(now - belowSince)} (onStaleFeed Suspend): suspending`
            : `${marginText} stayed below minMarginPercent ${fmt(policy.minMarginPercent)} for ${secs(now - belowSince)}: suspending`,
      };
    }
    const waitFor =
      now < belowSince + windowMs
        ? `the evaluation window (${policy.evaluationWindowSeconds}s)`
        : `minOffSeconds (${policy.minOffSeconds}s since the last flip)`;
    return {
      state: { suspended: false, lastTransitionTime: previous.lastTransitionTime, belowSince },
      decision: 'hold',
      reason,
      message: `${marginText} below minMarginPercent ${fmt(policy.minMarginPercent)} for ${secs(now - belowSince)}; suspending in ${secs(dueAt - now)} unless it recovers (waiting for ${waitFor})`,
      nextCheckAt: dueAt,
    };
  }

  if (!above) {
    return {
      state: { suspended: true, lastTransitionTime: previous.lastTransitionTime },
      decision: 'hold',
      reason: obs.kind === 'stale' ? 'StaleFeed' : 'MarginBelowResumeThreshold',
      message: `${marginText} is not above resumeMarginPercent ${fmt(policy.resumeMarginPercent)}: staying suspended`,
    };
  }
  const aboveSince = previous.aboveSince ?? now;
  const dueAt = Math.max(aboveSince + windowMs, flipAllowedAt);
  if (now >= dueAt) {
    return {
      state: { suspended: false, lastTransitionTime: now },
      decision: 'resume',
      reason: 'MarginRecovered',
      message: `${marginText} stayed above resumeMarginPercent ${fmt(policy.resumeMarginPercent)} for ${secs(now - aboveSince)}: resuming`,
    };
  }
  return {
    state: { suspended: true, lastTransitionTime: previous.lastTransitionTime, aboveSince },
    decision: 'hold',
    reason: 'MarginRecovering',
    message: `${marginText} above resumeMarginPercent ${fmt(policy.resumeMarginPercent)} for ${secs(now - aboveSince)}; resuming in ${secs(dueAt - now)} if it holds`,
    nextCheckAt: dueAt,
  };
}
