/**
 * The MinerFleet controller's economics hook: reads the fleet's feeds and measurements, runs the
 * pure `assessFleet` + `evaluate` on the state kept in status, and on a flip records an Event, a
 * metric and an audit record. The reconciler scales the Deployment from `suspended` and merges
 * `applyTo` into the status it writes.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Coin } from '../../api/v1alpha1/constants.js';
import { MinerFleetConditionType, type MinerFleet, type MinerFleetStatus, type MiningPool } from '../../api/v1alpha1/index.js';
import { assessFleet, STATUS_MEASUREMENTS, type Assessment, type FleetMeasurements } from '../../economics/assess.js';
import { evaluate, type EconomicsState, type Evaluation } from '../../economics/evaluate.js';
import type { FeedRegistry } from '../../economics/feeds/index.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { KubeObject } from '../../runtime/resource.js';
import type { AuditSink } from '../../store/audit.js';
import { setCondition } from './conditions.js';

export interface FleetEconomicsDeps {
  feeds: FeedRegistry;
  recorder: EventRecorder;
  measurements?: FleetMeasurements;
  audit?: AuditSink;
  metricsRegistry?: Registry;
  now?: () => number;
}

export interface EconomicsOutcome {
  /** scale the miners to 0 */
  suspended: boolean;
  status: Pick<MinerFleetStatus, 'suspended' | 'suspendedSince' | 'profitability'>;
  conditions: Array<{ type: string; status: 'True' | 'False' | 'Unknown'; reason: string; message: string }>;
  requeueAfterMs?: number;
}

/** A new evaluatedAt at most this often when nothing else changed (status writes stay rare). */
const EVALUATED_AT_REFRESH_MS = 60_000;
const DEFAULT_REEVALUATE_MS = 60_000;

const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const ms = (t: string | undefined) => (t === undefined ? undefined : Date.parse(t));

export class FleetEconomics {
  private readonly now: () => number;
  private readonly measurements: FleetMeasurements;
  private readonly gauges?: {
    margin: Gauge<'namespace' | 'fleet'>;
    revenue: Gauge<'namespace' | 'fleet'>;
    cost: Gauge<'namespace' | 'fleet'>;
    suspended: Gauge<'namespace' | 'fleet'>;
  };
  private readonly decisions?: Counter<'decision'>;
  /**
   * The state after the last flip per fleet uid and the resourceVersion it was decided on: a
   * reconcile that still sees that version (the cache has not caught up with our status write, or
   * the write failed and is retried) continues from the flip instead of flipping a second time.
   */
  private readonly flips = new Map<string, { resourceVersion: string | undefined; state: EconomicsState; reason: string; message: string }>();

  constructor(private readonly deps: FleetEconomicsDeps) {
    this.now = deps.now ?? Date.now;
    this.measurements = deps.measurements ?? STATUS_MEASUREMENTS;
    const r = deps.metricsRegistry;
    if (r) {
      const g = (name: string, help: string) => new Gauge({ name, help, labelNames: ['namespace', 'fleet'], registers: [r] });
      this.gauges = {
        margin: g('minefleet_fleet_margin_percent', 'Profit margin of the fleet in percent: (revenue - cost) / cost x 100.'),
        revenue: g('minefleet_fleet_revenue_per_day', 'Estimated revenue of the fleet per day after pool fees, in the electricity currency.'),
        cost: g('minefleet_fleet_cost_per_day', 'Electricity cost of the fleet per day, in the electricity currency.'),
        suspended: g('minefleet_fleet_suspended', '1 while the fleet is suspended because mining does not pay.'),
      };
      this.decisions = new Counter({
        name: 'minefleet_economics_decisions_total',
        help: 'Economics evaluations by decision (suspend, resume, hold).',
        labelNames: ['decision'],
        registers: [r],
      });
    }
  }

  /** A fleet is gone: drop its series. */
  forget(namespace: string, name: string): void {
    if (!this.gauges) return;
    for (const g of Object.values(this.gauges)) g.remove({ namespace, fleet: name });
  }

  /**
   * `miners`: the pods the fleet runs when mining (default spec.replicas; a network fleet runs
   * ceil(targets / targetsPerPod) supervisors for spec.replicas 1), for the revenue estimate
   * while suspended (last rate per miner x miners).
   */
  decide(fleet: MinerFleet & KubeObject, pool: MiningPool | undefined, log: Logger, miners?: number): EconomicsOutcome {
    const ns = fleet.metadata.namespace!;
    const name = fleet.metadata.name!;
    const prev = fleet.status;
    const memo = this.flips.get(fleet.metadata.uid ?? '');
    const pendingFlip = memo && memo.resourceVersion === fleet.metadata.resourceVersion ? memo.state : undefined;
    if (memo && !pendingFlip) this.flips.delete(fleet.metadata.uid ?? '');
    const wasSuspended = pendingFlip ? pendingFlip.suspended : prev?.suspended === true;
    const e = fleet.spec.economics;
    const now = this.now();

    if (!e || !e.enabled) {
      this.forget(ns, name);
      if (!wasSuspended && prev?.suspended === undefined) return { suspended: false, status: {}, conditions: [] };
      // Turning economics off resumes a suspended fleet: nothing judges it any more.
      if (wasSuspended) this.flip(fleet, 'resume', 'EconomicsDisabled', 'spec.economics is disabled or removed: resuming the miners', now, undefined, log);
      return {
        suspended: false,
        status: { suspended: false, suspendedSince: wasSuspended ? iso(now) : prev?.suspendedSince },
        conditions: [
          { type: MinerFleetConditionType.Suspended, status: 'False', reason: 'EconomicsDisabled', message: 'economics is not enabled for this fleet' },
          { type: MinerFleetConditionType.Profitable, status: 'Unknown', reason: 'EconomicsDisabled', message: 'economics is not enabled for this fleet' },
        ],
      };
    }

    const subscriber = `${ns}/${name}`;
    const maxAgeMs = e.feedMaxAgeSeconds * 1000;
    const coins: readonly Coin[] = pool?.spec.coins ?? [];
    const assessment = assessFleet({
      economics: e,
      pool: { name: pool?.metadata.name ?? '(none)', coins, feePercent: pool?.spec.feePercent ?? 0 },
      reading: (coin, kind) => {
        const source = e.feeds?.[coin]?.[kind];
        return source ? this.deps.feeds.read({ namespace: ns, kind, source, maxAgeMs, subscriber }) : undefined;
      },
      measurement: this.measurements.measure(fleet),
      running: !wasSuspended && !fleet.spec.paused,
      replicas: miners ?? fleet.spec.replicas,
      previous: { hashratePerMiner: prev?.profitability?.hashratePerMiner, wattsPerMiner: prev?.profitability?.wattsPerMiner },
    });
    if (assessment.feedWarnings.length) log.warn({ feeds: assessment.feedWarnings }, 'economics feed fetch failed; using the last good value');

    const state: EconomicsState = pendingFlip ?? {
      suspended: wasSuspended,
      lastTransitionTime: ms(prev?.suspendedSince),
      belowSince: ms(prev?.profitability?.belowThresholdSince),
      aboveSince: ms(prev?.profitability?.aboveThresholdSince),
    };
    const ev = evaluate(state, assessment.observation, now, {
      minMarginPercent: e.minMarginPercent,
      resumeMarginPercent: e.resumeMarginPercent,
      evaluationWindowSeconds: e.evaluationWindowSeconds,
      minOffSeconds: e.minOffSeconds,
      onStaleFeed: e.onStaleFeed,
    });
    this.decisions?.inc({ decision: ev.decision });
    if (ev.decision !== 'hold') {
      this.flip(fleet, ev.decision, ev.reason, ev.message, now, assessment, log);
      this.flips.set(fleet.metadata.uid ?? '', { resourceVersion: fleet.metadata.resourceVersion, state: ev.state, reason: ev.reason, message: ev.message });
    } else log.debug({ reason: ev.reason, message: ev.message }, 'economics: hold');

    const p = assessment.profitability;
    const profitability: NonNullable<MinerFleetStatus['profitability']> = { ...p };
    if (ev.state.belowSince !== undefined) profitability.belowThresholdSince = iso(ev.state.belowSince);
    if (ev.state.aboveSince !== undefined) profitability.aboveThresholdSince = iso(ev.state.aboveSince);
    const { evaluatedAt: prevAt, ...prevRest } = prev?.profitability ?? {};
    const same = JSON.stringify(sortKeys(prevRest)) === JSON.stringify(sortKeys(profitability));
    profitability.evaluatedAt = same && prevAt && now - Date.parse(prevAt) < EVALUATED_AT_REFRESH_MS ? prevAt : iso(now);

    if (this.gauges) {
      const l = { namespace: ns, fleet: name };
      if (p.marginPercent !== undefined) this.gauges.margin.set(l, p.marginPercent);
      else this.gauges.margin.remove(l);
      if (p.revenuePerDay !== undefined) this.gauges.revenue.set(l, p.revenuePerDay);
      if (p.costPerDay !== undefined) this.gauges.cost.set(l, p.costPerDay);
      this.gauges.suspended.set(l, ev.state.suspended ? 1 : 0);
    }

    const suspendedSince = ev.state.lastTransitionTime !== undefined ? iso(ev.state.lastTransitionTime) : undefined;
    const status: EconomicsOutcome['status'] = { suspended: ev.state.suspended, profitability };
    if (suspendedSince) status.suspendedSince = suspendedSince;

    const refresh = Math.min(DEFAULT_REEVALUATE_MS, ...feedRefreshMs(e));
    const requeueAfterMs = Math.max(1000, Math.min(refresh, ev.nextCheckAt !== undefined ? ev.nextCheckAt - now + 1000 : Infinity));
    return { suspended: ev.state.suspended, status, conditions: this.conditions(fleet, ev, assessment, pendingFlip ? memo : undefined), requeueAfterMs };
  }

  /** Merge the outcome into the status the reconciler is about to write. */
  applyTo(status: MinerFleetStatus, outcome: EconomicsOutcome, generation: number, now: string): void {
    Object.assign(status, outcome.status);
    let conds = status.conditions ?? [];
    for (const c of outcome.conditions) conds = setCondition(conds, c, generation, now);
    status.conditions = conds;
  }

  private conditions(fleet: MinerFleet, ev0: Evaluation, a: Assessment, flip?: { reason: string; message: string }): EconomicsOutcome['conditions'] {
    // A flip the cache has not seen yet is described as that flip.
    const ev: Evaluation = flip ? { ...ev0, decision: ev0.state.suspended ? 'suspend' : 'resume', reason: flip.reason, message: flip.message } : ev0;
    const e = fleet.spec.economics!;
    const p = a.profitability;
    const figures =
      p.revenuePerDay !== undefined && p.costPerDay !== undefined
        ? ` (revenue ${p.revenuePerDay} ${p.currency}/day, cost ${p.costPerDay} ${p.currency}/day)`
        : '';
    let profitable: EconomicsOutcome['conditions'][number];
    const o = a.observation;
    if (o.kind === 'stale')
      profitable = {
        type: MinerFleetConditionType.Profitable,
        status: 'Unknown',
        reason: 'StaleFeed',
        message: `stale or malformed feeds (onStaleFeed ${e.onStaleFeed}): ${a.feedErrors.join('; ')}`,
      };
    else if (o.kind === 'unknown') profitable = { type: MinerFleetConditionType.Profitable, status: 'Unknown', reason: o.reason, message: o.message };
    else if (o.marginPercent === undefined)
      profitable = { type: MinerFleetConditionType.Profitable, status: 'True', reason: 'FreeElectricity', message: `electricity costs nothing${figures}` };
    else if (o.marginPercent < e.minMarginPercent)
      profitable = {
        type: MinerFleetConditionType.Profitable,
        status: 'False',
        reason: 'MarginBelowThreshold',
        message: `margin ${p.marginPercent}% is below minMarginPercent ${e.minMarginPercent}%${figures}`,
      };
    else
      profitable = {
        type: MinerFleetConditionType.Profitable,
        status: 'True',
        reason: 'MarginAboveThreshold',
        message: `margin ${p.marginPercent}% is at or above minMarginPercent ${e.minMarginPercent}%${figures}`,
      };

    // Messages hold no running durations: a status that changes every reconcile would re-trigger it.
    const prevCond = fleet.status?.conditions?.find((c) => c.type === MinerFleetConditionType.Suspended);
    const due = ev.nextCheckAt !== undefined ? `, due at ${iso(ev.nextCheckAt)}` : '';
    let suspended: EconomicsOutcome['conditions'][number];
    if (ev.state.suspended) {
      const flipped = ev.decision === 'suspend' || prevCond?.status !== 'True';
      const base = flipped
        ? { reason: ev.reason, message: `suspended: ${ev.message}` }
        : { reason: prevCond.reason ?? ev.reason, message: (prevCond.message ?? '').replace(/; resuming when .*$/, '') };
      const pending =
        ev.state.aboveSince !== undefined
          ? `; resuming when the margin stays above resumeMarginPercent ${e.resumeMarginPercent}% (since ${iso(ev.state.aboveSince)})${due}`
          : '';
      suspended = { type: MinerFleetConditionType.Suspended, status: 'True', reason: base.reason, message: base.message + pending };
    } else {
      const pending =
        ev.state.belowSince !== undefined
          ? `; suspending when the ${ev.reason === 'StaleFeed' ? 'feeds stay stale' : `margin stays below minMarginPercent ${e.minMarginPercent}%`} (since ${iso(ev.state.belowSince)})${due}`
          : '';
      suspended = {
        type: MinerFleetConditionType.Suspended,
        status: 'False',
        reason: ev.decision === 'resume' ? ev.reason : prevCond?.status === 'False' && prevCond.reason ? prevCond.reason : 'Mining',
        message: `mining${pending}`,
      };
    }
    return [profitable, suspended];
  }

  private flip(
    fleet: MinerFleet & KubeObject,
    decision: 'suspend' | 'resume',
    reason: string,
    message: string,
    now: number,
    a: Assessment | undefined,
    log: Logger,
  ): void {
    const ns = fleet.metadata.namespace!;
    const name = fleet.metadata.name!;
    const verb = decision === 'suspend' ? 'Suspended' : 'Resumed';
    const text =
      decision === 'suspend'
        ? `${message}; Deployment scaled to 0, spec.replicas ${fleet.spec.replicas} kept`
        : `${message}; restoring ${fleet.spec.replicas} replica(s)`;
    this.deps.recorder.event(fleet, decision === 'suspend' ? 'Warning' : 'Normal', verb, text);
    log.info(
      { decision, reason, marginPercent: a?.profitability.marginPercent, staleFeeds: a?.profitability.staleFeeds },
      `economics: ${verb.toLowerCase()} fleet`,
    );
    const p = a?.profitability;
    const details: Record<string, string | number | boolean | null> = { replicas: fleet.spec.replicas };
    if (p?.marginPercent !== undefined) details.marginPercent = p.marginPercent;
    if (p?.revenuePerDay !== undefined) details.revenuePerDay = p.revenuePerDay;
    if (p?.costPerDay !== undefined) details.costPerDay = p.costPerDay;
    if (p?.currency) details.currency = p.currency;
    if (p?.staleFeeds) details.staleFeeds = p.staleFeeds.join(',');
    this.deps.audit?.record({
      type: decision,
      namespace: ns,
      fleet: name,
      reason,
      message: text,
      severity: decision === 'suspend' ? 'warning' : 'info',
      time: new Date(now),
      details,
      eventId: `${fleet.metadata.uid}:${decision}:${iso(now)}`,
    });
  }
}

function feedRefreshMs(e: NonNullable<MinerFleet['spec']['economics']>): number[] {
  const out: number[] = [];
  for (const coin of Object.values(e.feeds ?? {})) {
    for (const f of Object.values(coin ?? {})) {
      const s = f as { http?: { refreshSeconds: number }; litecoind?: { refreshSeconds: number } };
      if (s.http) out.push(s.http.refreshSeconds * 1000);
      if (s.litecoind) out.push(s.litecoind.refreshSeconds * 1000);
    }
  }
  return out;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Status writes that do not evaluate (invalid spec, no usable pool) carry the economic state forward. */
export function carryEconomics(status: MinerFleetStatus, previous: MinerFleetStatus | undefined): void {
  if (!previous) return;
  if (previous.suspended !== undefined) status.suspended = previous.suspended;
  if (previous.suspendedSince !== undefined) status.suspendedSince = previous.suspendedSince;
  if (previous.profitability !== undefined) status.profitability = previous.profitability;
}
