/**
 * MiningPool controller: probes every pool with a real Stratum session on its own schedule
 * (spec.probe.intervalSeconds; back-off while the circuit is Open) and keeps status, Events,
 * metrics and the audit trail. Level-triggered: a reconcile reads the pool from the cache, probes
 * when one is due (else requeues for the due time), computes the next circuit and status with
 * pure functions, and writes status only when it changed. Workers bound the probes in flight.
 */
import type { Logger } from 'pino';
import {
  API_VERSION,
  MINING_POOL_KIND,
  MiningPoolConditionType,
  MiningPoolSpecSchema,
  type MiningPool,
  type MiningPoolStatus,
} from '../../api/v1alpha1/index.js';
import { Controller, type ReconcileContext, type Reconciler, type Request, type Result } from '../../runtime/controller.js';
import { EventRecorder } from '../../runtime/events.js';
import type { Informer } from '../../runtime/informer.js';
import type { Manager } from '../../runtime/manager.js';
import { objectPath, Secrets, type KubeObject } from '../../runtime/resource.js';
import { ApiError, type KubeRest } from '../../runtime/rest.js';
import { NOOP_AUDIT_SINK, type AuditSink } from '../../store/audit.js';
import { MiningPools } from '../minerfleet/controller.js';
import { nextCircuit, type Circuit, type ProbePolicy } from './circuit.js';
import { PoolMetrics } from './metrics.js';
import { probePool, type ProbeResult, type ProbeTarget } from './probe.js';
import { circuitFromStatus, computePoolStatus, LATENCY_WINDOW, samePoolStatus } from './status.js';
import { DEFAULT_TLS_POLICY, tlsCondition, tlsPolicyViolation, type TlsPolicy } from './tls-policy.js';
import { findCondition, setCondition } from '../minerfleet/conditions.js';
import { trimUserObject } from '../../runtime/transform.js';

export const CONTROLLER_NAME = 'miningpool';
export const FIELD_MANAGER = 'minefleet-operator';

type PoolObj = MiningPool & KubeObject;
type Outcome = ProbeResult | { ok: false; reason: 'SecretNotFound' | 'InvalidSpec'; message: string; totalMs: number; connectMs?: undefined };

export interface MiningPoolControllerOptions {
  /** Probes in flight at most (one worker per probe). */
  concurrency: number;
  audit?: AuditSink;
  /** Operator-wide TLS policy (--require-tls); default: plain and unverified pools allowed. */
  tlsPolicy?: TlsPolicy;
  /** Tests: a clock. */
  now?: () => number;
}

interface PoolState {
  generation: number;
  circuit: Circuit;
  /** Recent successful probes' time to first job (status.ts writes a bucketed median). */
  latencies: number[];
}

export class MiningPoolReconciler implements Reconciler {
  readonly stats = { probes: 0, statusWrites: 0 };
  private readonly state = new Map<string, PoolState>();
  private readonly now: () => number;
  private readonly audit: AuditSink;
  private readonly tlsPolicy: TlsPolicy;

  constructor(
    private readonly rest: KubeRest,
    private readonly pools: Informer<PoolObj>,
    private readonly recorder: EventRecorder,
    private readonly metrics: PoolMetrics,
    opts: MiningPoolControllerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.audit = opts.audit ?? NOOP_AUDIT_SINK;
    this.tlsPolicy = opts.tlsPolicy ?? DEFAULT_TLS_POLICY;
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const ns = req.namespace ?? '';
    const key = `${ns}/${req.name}`;
    const pool = this.pools.store.getByName(req.namespace, req.name);
    if (!pool || pool.metadata.deletionTimestamp) {
      this.state.delete(key);
      this.metrics.forget(ns, req.name);
      return;
    }
    // ctx.log carries {controller, namespace, name, reconcileID}; ctx.signal goes to every API call and the probe.
    const { log, signal } = ctx;
    const generation = pool.metadata.generation ?? 0;
    const parsed = MiningPoolSpecSchema.safeParse(pool.spec);
    if (!parsed.success) {
      const msg = `invalid spec: ${parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ')}`;
      this.recorder.event(pool, 'Warning', 'InvalidSpec', msg);
      await this.writeStatus(pool, signal, {
        ...(pool.status ?? {}),
        conditions: [
          { type: 'Available', status: 'False', reason: 'InvalidSpec', message: msg, observedGeneration: generation, lastTransitionTime: isoNow(this.now()) },
        ],
        observedGeneration: generation,
      });
      return;
    }
    const spec = parsed.data;
    const refused = tlsPolicyViolation(spec, this.tlsPolicy);
    if (refused) {
      // Not probed at all: a probe would send the pool login over the connection the policy forbids.
      const prevAvailable = findCondition(pool.status?.conditions, 'Available');
      if (prevAvailable?.reason !== 'TLSRequired') {
        this.recorder.event(pool, 'Warning', 'TLSRequired', refused);
        log.warn({ reason: 'TLSRequired' }, 'pool refused by the TLS policy; not probed');
      }
      const now = isoNow(this.now());
      let conditions = setCondition(
        pool.status?.conditions ?? [],
        { type: 'Available', status: 'False', reason: 'TLSRequired', message: refused },
        generation,
        now,
      );
      conditions = setCondition(conditions, tlsCondition(spec, this.tlsPolicy, undefined, undefined), generation, now);
      this.state.delete(key);
      await this.writeStatus(pool, signal, {
        ...(pool.status ?? {}),
        conditions,
        observedGeneration: generation,
        lastProbeTime: pool.status?.lastProbeTime ?? now,
      });
      return; // only a spec change (or another operator policy, i.e. a restart) changes this
    }
    const policy: ProbePolicy = spec.probe;
    let st = this.state.get(key);
    if (!st || st.generation !== generation) {
      // First sight (maybe a new leader): continue from status. A spec change probes at once.
      const circuit = circuitFromStatus(pool.status, this.now());
      if (st) circuit.nextProbeAtMs = this.now();
      else if (pool.status?.observedGeneration !== generation) circuit.nextProbeAtMs = this.now();
      st = { generation, circuit, latencies: st?.latencies ?? [] };
      this.state.set(key, st);
    }
    const wait = st.circuit.nextProbeAtMs - this.now();
    if (wait > 0) return { requeueAfterMs: wait };

    const outcome = await this.probe(pool, spec, policy, log, signal);
    const before = st.circuit;
    const after = nextCircuit(before, outcome.ok, policy, this.now());
    st.circuit = after;
    if (outcome.ok) st.latencies = [...st.latencies, outcome.firstJobMs].slice(-LATENCY_WINDOW);
    this.stats.probes++;

    this.metrics.probes.inc({ namespace: ns, pool: req.name, result: outcome.ok ? 'ok' : outcome.reason });
    this.metrics.probeDuration.observe({ namespace: ns, pool: req.name }, outcome.totalMs / 1000);
    if (outcome.connectMs !== undefined) this.metrics.connectDuration.observe({ namespace: ns, pool: req.name }, outcome.connectMs / 1000);
    if (outcome.ok) this.metrics.firstJobDuration.observe({ namespace: ns, pool: req.name }, outcome.firstJobMs / 1000);
    this.metrics.setCircuit(ns, req.name, after.state);
    this.metrics.setConsecutiveFailures(ns, req.name, after.consecutiveFailures);
    this.audit.probe({
      namespace: ns,
      pool: req.name,
      time: new Date(this.now()),
      ok: outcome.ok,
      ...(outcome.connectMs !== undefined ? { connectMs: outcome.connectMs } : {}),
      ...(outcome.ok ? { latencyMs: outcome.firstJobMs } : { error: outcome.message }),
      circuit: after.state,
    });

    const status = computePoolStatus({
      prev: pool.status,
      circuit: after,
      result: outcome,
      policy,
      recentLatenciesMs: st.latencies,
      generation,
      now: isoNow(this.now()),
    });
    const prevTls = findCondition(pool.status?.conditions, MiningPoolConditionType.TLSVerified);
    const tlsCond = tlsCondition(spec, this.tlsPolicy, outcome, prevTls);
    status.conditions = setCondition(status.conditions ?? [], tlsCond, generation, isoNow(this.now()));
    if (tlsCond.reason === 'InsecureSkipVerify' && prevTls?.reason !== 'InsecureSkipVerify') {
      this.recorder.event(pool, 'Warning', 'InsecureSkipVerify', tlsCond.message);
      log.warn({ reason: 'InsecureSkipVerify' }, 'pool certificate is not verified (spec.tls.insecureSkipVerify)');
    }
    const wasAvailable = pool.status?.conditions?.find((c) => c.type === 'Available')?.status;
    const isAvailableNow = status.conditions?.find((c) => c.type === 'Available')?.status;
    // A first probe (no Available condition yet) is a state change too: Unknown -> True/False.
    if ((pool.status?.circuit ?? 'Closed') !== after.state || wasAvailable !== isAvailableNow) {
      const msg = outcome.ok
        ? `circuit ${pool.status?.circuit ?? 'Closed'} -> ${after.state}: probe succeeded in ${outcome.firstJobMs} ms`
        : `circuit ${pool.status?.circuit ?? 'Closed'} -> ${after.state}: ${outcome.reason}: ${outcome.message}`;
      const reason = after.state === 'Closed' ? 'PoolAvailable' : outcome.ok ? 'PoolRecovering' : 'PoolUnavailable';
      this.recorder.event(pool, after.state === 'Closed' ? 'Normal' : 'Warning', reason, msg);
      log.info({ circuit: after.state, previous: pool.status?.circuit ?? 'Closed', reason: outcome.ok ? 'ok' : outcome.reason }, 'pool circuit changed');
      this.audit.record({
        type: 'probe-state',
        namespace: ns,
        pool: req.name,
        reason,
        message: msg,
        severity: after.state === 'Closed' ? 'info' : 'warning',
        details: {
          circuit: after.state,
          previous: pool.status?.circuit ?? 'Closed',
          available: isAvailableNow ?? 'Unknown',
          previousAvailable: wasAvailable ?? 'Unknown',
          consecutiveFailures: after.consecutiveFailures,
          ...(outcome.ok ? { firstJobMs: outcome.firstJobMs } : { probeReason: outcome.reason }),
        },
        eventId: `${pool.metadata.uid}:probe-state:${after.state}:${status.lastProbeTime}`,
      });
    } else if (!outcome.ok) {
      log.debug({ reason: outcome.reason, consecutiveFailures: after.consecutiveFailures }, 'probe failed');
    }
    await this.writeStatus(pool, signal, status);
    return { requeueAfterMs: Math.max(1, after.nextProbeAtMs - this.now()) };
  }

  private async probe(pool: PoolObj, spec: MiningPool['spec'], policy: ProbePolicy, log: Logger, signal: AbortSignal): Promise<Outcome> {
    const ns = pool.metadata.namespace!;
    const started = performance.now();
    const missing = (message: string): Outcome => ({ ok: false, reason: 'SecretNotFound', message, totalMs: Math.round(performance.now() - started) });
    let secret: { data?: Record<string, string> };
    const ref = spec.credentialsSecretRef;
    try {
      secret = await this.rest.get(objectPath(Secrets, ns, ref.name), undefined, { signal });
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 404) return missing(`Secret ${ns}/${ref.name} (spec.credentialsSecretRef) not found`);
      throw err;
    }
    const user = secret.data?.[ref.userKey];
    const password = secret.data?.[ref.passwordKey];
    if (user === undefined) return missing(`Secret ${ns}/${ref.name} has no key '${ref.userKey}' (spec.credentialsSecretRef.userKey)`);
    const target: ProbeTarget = {
      poolName: pool.metadata.name!,
      url: spec.url,
      login: Buffer.from(user, 'base64').toString('utf8'),
      password: password !== undefined ? Buffer.from(password, 'base64').toString('utf8') : '',
    };
    if (spec.tls) {
      const tls: NonNullable<ProbeTarget['tls']> = {};
      if (spec.tls.serverName) tls.serverName = spec.tls.serverName;
      if (spec.tls.insecureSkipVerify === true) tls.insecureSkipVerify = true;
      const caRef = spec.tls.caSecretRef;
      if (caRef) {
        let caSecret: { data?: Record<string, string> };
        try {
          caSecret = await this.rest.get(objectPath(Secrets, ns, caRef.name), undefined, { signal });
        } catch (err) {
          if (err instanceof ApiError && err.statusCode === 404) return missing(`Secret ${ns}/${caRef.name} (spec.tls.caSecretRef) not found`);
          throw err;
        }
        const ca = caSecret.data?.[caRef.key];
        if (ca === undefined) return missing(`Secret ${ns}/${caRef.name} has no key '${caRef.key}' (spec.tls.caSecretRef.key)`);
        tls.ca = Buffer.from(ca, 'base64').toString('utf8');
      }
      target.tls = tls;
    }
    return probePool(target, policy.timeoutSeconds * 1000, log, signal);
  }

  private async writeStatus(pool: PoolObj, signal: AbortSignal, status: MiningPoolStatus): Promise<void> {
    if (samePoolStatus(status, pool.status)) return;
    this.stats.statusWrites++;
    await this.rest.apply(
      objectPath(MiningPools, pool.metadata.namespace, pool.metadata.name!, 'status'),
      { apiVersion: API_VERSION, kind: MINING_POOL_KIND, metadata: { name: pool.metadata.name, namespace: pool.metadata.namespace }, status },
      FIELD_MANAGER,
      true,
      { signal },
    );
  }
}

function isoNow(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function setupMiningPoolController(
  mgr: Manager,
  opts: MiningPoolControllerOptions,
  log: Logger,
): { controller: Controller; reconciler: MiningPoolReconciler } {
  const pools = mgr.informer<PoolObj>(MiningPools, { transform: trimUserObject });
  const recorder = new EventRecorder(mgr.rest, 'minefleet-operator', log, mgr.leadershipSignal);
  const metrics = new PoolMetrics(mgr.metrics.registry);
  const reconciler = new MiningPoolReconciler(mgr.rest, pools, recorder, metrics, opts);
  const controller = new Controller(CONTROLLER_NAME, reconciler, {
    concurrency: opts.concurrency,
    metrics: mgr.metrics,
    logger: log,
    backoffBaseMs: 500,
    backoffMaxMs: 60_000,
  });
  controller.for(pools);
  mgr.add(controller);
  return { controller, reconciler };
}
