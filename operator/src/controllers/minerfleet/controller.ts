import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  API_VERSION,
  MINER_FLEET_KIND,
  MinerFleetConditionType,
  MinerFleets,
  MinerFleetSpecSchema,
  MiningPools,
  type MinerFleet,
  type MinerFleetStatus,
  type MiningPool,
} from '../../api/v1alpha1/index.js';
import { Controller, type ReconcileContext, type Reconciler, type Request, type Result } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { Manager } from '../../runtime/manager.js';
import { DEFAULT_TLS_POLICY, type TlsPolicy } from '../miningpool/tls-policy.js';
import {
  ConfigMaps,
  Deployments,
  NetworkPolicies,
  objectPath,
  RoleBindings,
  Roles,
  Secrets,
  ServiceAccounts,
  Services,
  type KubeObject,
  type ResourceType,
} from '../../runtime/resource.js';
import { isNotFound, type KubeRest } from '../../runtime/rest.js';
import { isSubset } from '../../runtime/semantic.js';
import { withAppliedHash } from '../../runtime/applied-hash.js';
import { EventRecorder } from '../../runtime/events.js';
import { BY_OWNER_UID, byOwnerUid } from '../../runtime/cache.js';
import { stripManagedFields, trimUserObject } from '../../runtime/transform.js';
import {
  desiredFleetObjects,
  desiredReplicas,
  fleetNames,
  MINER_CONFIG_KEY,
  podLayout,
  fleetSelector,
  RUNTIME_KEY,
  missingReferences,
  selectActivePool,
  suspendDevices,
  usablePools,
  DEFAULT_NETWORK_POLICY_SETTINGS,
  type DesiredFleetObjects,
  type NetworkPolicySettings,
} from './desired/index.js';
import { ApiServerEndpoints } from './apiserver.js';
import { FLEETS_BY_POOL, FLEETS_BY_TARGETS_CONFIGMAP, fleetPoolKeys, fleetTargetsConfigMapKeys, POOLS_BY_SECRET, poolSecretKeys } from './indexes.js';
import { renderedTargets, resolveNetworkTargets, targetsToRender, type TargetsResolution } from './targets.js';
import { assignDevices } from './device-assignment.js';
import { fleetUpdateConcernsReconciler } from './predicates.js';
import { secretsCacheTransform, type SecretKeys } from './secrets.js';
import { computeStatus, replicaCounts, type StatusInputs } from './status.js';
import { FleetReplicaMetrics } from '../../metrics/fleet-metrics.js';
import { carryEconomics, FleetEconomics, type EconomicsOutcome } from './economics.js';
import { FeedRegistry, type FeedRegistryOptions } from '../../economics/feeds/index.js';
import type { FleetMeasurements } from '../../economics/assess.js';
import { NOOP_AUDIT_SINK, type AuditSink } from '../../store/audit.js';
import { fleetPoolSwitches } from '../miningpool/metrics.js';
import { applyDecisionToStatus, fleetDecision, MINER_PODS_SELECTOR, podFleetKey, Pods, PODS_BY_FLEET, trimPod, type PublishedRuntime } from './decision.js';
import type { Counter } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { NetworkTarget } from '../../api/v1alpha1/index.js';

export const CONTROLLER_NAME = 'minerfleet';
export const FIELD_MANAGER = 'minefleet-operator';

// Kept here for existing importers; they live in api/.
export { MinerFleets, MiningPools };

export interface MinerFleetControllerOptions {
  minerImage: string;
  minerImagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  concurrency: number;
  /** Cap of the retry back-off for fleets that cannot be reconciled (missing refs, API errors). */
  backoffMaxMs?: number;
  /** Economics: measurements (default: status.hashrate), audit sink, feed fetch limits. */
  economics?: { measurements?: FleetMeasurements; audit?: AuditSink; feeds?: Partial<Omit<FeedRegistryOptions, 'readSecret' | 'metricsRegistry'>> };
  /** Audit trail of pool switches (the history store); default: none. */
  audit?: AuditSink;
  /**
   * Peers of the miners' NetworkPolicies (default DEFAULT_NETWORK_POLICY_SETTINGS). The API
   * server's endpoints are read from its EndpointSlice unless given here.
   */
  networkPolicy?: Partial<NetworkPolicySettings>;
  /** Operator-wide TLS policy (--require-tls): refused pools are left out of the miners' config. */
  tlsPolicy?: TlsPolicy;
}

type Obj = KubeObject;
type FleetObj = MinerFleet & KubeObject;
type PoolObj = MiningPool & KubeObject;

/**
 * Which owned kind each desired object is, in apply order: RBAC and config before the pods that
 * use them, and the NetworkPolicy too, so no miner pod ever runs unconfined.
 */
const OWNED: Array<{ field: keyof DesiredFleetObjects; rt: ResourceType }> = [
  { field: 'serviceAccount', rt: ServiceAccounts },
  { field: 'role', rt: Roles },
  { field: 'roleBinding', rt: RoleBindings },
  { field: 'configMap', rt: ConfigMaps },
  { field: 'runtimeConfigMap', rt: ConfigMaps },
  { field: 'service', rt: Services },
  { field: 'networkPolicy', rt: NetworkPolicies },
  { field: 'deployment', rt: Deployments },
];
/** Owned objects a fleet may opt out of: deleted when its desired state leaves them out. */
const OPTIONAL_OWNED = new Set<keyof DesiredFleetObjects>(['networkPolicy']);

/** Bound on waiting for a pool switch's audit record to be written (the status write waits). */
const SWITCH_FLUSH_MS = 3000;

/**
 * MinerFleet → ServiceAccount, Role, RoleBinding, config + runtime ConfigMaps, Service,
 * NetworkPolicy (unless opted out), Deployment.
 * Level-triggered: every reconcile recomputes the desired objects from the cached fleet, pools and
 * Secrets and server-side-applies those that differ from the cache (so drift is repaired and a
 * steady state costs no writes), then writes status through the status subresource.
 */
export class MinerFleetReconciler implements Reconciler {
  /** API writes so far (tests assert that a steady state costs none). */
  readonly stats = { applies: 0, statusWrites: 0 };
  /** Last switch recorded per fleet: a reconcile on a cache that lags our own status write must not record it twice. */
  private readonly lastSwitch = new Map<string, string>();
  /** Last missing-reference occurrence recorded per fleet (same reason as lastSwitch). */
  private readonly lastMissing = new Map<string, string>();
  private readonly apiServer: ApiServerEndpoints;

  constructor(
    private readonly rest: KubeRest,
    private readonly fleets: Informer<FleetObj>,
    private readonly pools: Informer<PoolObj>,
    private readonly secrets: Informer<SecretKeys & Obj>,
    private readonly owned: Map<ResourceType, Informer<Obj>>,
    private readonly recorder: EventRecorder,
    private readonly opts: MinerFleetControllerOptions,
    private readonly log: Logger,
    private readonly economics?: FleetEconomics,
    private readonly replicaMetrics?: FleetReplicaMetrics,
    /** The fleet's miner pods (names only), for per-pod Weighted assignment. */
    private readonly pods?: Informer<Obj>,
    private readonly switches?: Counter,
  ) {
    this.apiServer = new ApiServerEndpoints(rest, log);
  }

  /** The NetworkPolicy settings of this reconcile: configured peers, the API server's current endpoints. */
  private async networkPolicySettings(signal: AbortSignal): Promise<NetworkPolicySettings> {
    const np = this.opts.networkPolicy ?? {};
    return {
      operatorPods: np.operatorPods ?? DEFAULT_NETWORK_POLICY_SETTINGS.operatorPods,
      prometheus: np.prometheus ?? DEFAULT_NETWORK_POLICY_SETTINGS.prometheus,
      apiServer: np.apiServer ?? (await this.apiServer.get(signal)),
    };
  }

  /** computeStatus, and the fleet's replica gauges from the same inputs. */
  private computeStatus(i: StatusInputs): MinerFleetStatus {
    this.replicaMetrics?.set(i.fleet.metadata.namespace ?? '', i.fleet.metadata.name ?? '', replicaCounts(i.deployment, i.desiredReplicas));
    return computeStatus(i);
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const fleet = this.fleets.store.getByName(req.namespace, req.name);
    // Gone: its owned objects carry owner references, so the garbage collector removes them.
    if (!fleet || fleet.metadata.deletionTimestamp) {
      this.economics?.forget(req.namespace ?? '', req.name);
      this.replicaMetrics?.forget(req.namespace ?? '', req.name);
      return;
    }
    const ns = fleet.metadata.namespace!;
    const { log, signal } = ctx;

    const parsed = MinerFleetSpecSchema.safeParse(fleet.spec);
    if (!parsed.success) {
      const msg = `invalid spec: ${parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ')}`;
      this.recorder.event(fleet, 'Warning', 'InvalidSpec', msg);
      const invalid = this.computeStatus({
        fleet,
        // The selector depends only on the name, so it is known even for an invalid spec; the
        // scale subresource reads it and an empty one would select every pod.
        selector: fleetSelector(fleet),
        activePool: undefined,
        missing: [],
        deployment: undefined,
        desiredReplicas: 0,
        applyError: msg,
        now: nowTime(),
      });
      carryEconomics(invalid, fleet.status);
      await this.writeStatus(fleet, invalid, signal);
      return; // only a spec change can fix it, and that triggers a new reconcile
    }
    const spec = parsed.data;
    const typedFleet: MinerFleet = { ...fleet, spec };
    const targets = this.resolveTargets(typedFleet);
    const networkTargets = targets ? targetsToRender(targets) : undefined;
    if (targets && targets.source === 'configMap' && !targets.ok) this.recorder.event(fleet, 'Warning', targets.reason, targets.message);

    // Everything read from the cache; the pure desired-state functions decide what is usable.
    const referencedPools = spec.pools.map((r) => this.pools.store.getByName(ns, r.name)).filter((p): p is PoolObj => p !== undefined);
    const secretNames = new Set(
      referencedPools.flatMap((p) => [p.spec.credentialsSecretRef.name, p.spec.tls?.caSecretRef?.name].filter((n): n is string => !!n)),
    );
    const secrets = [...secretNames].map((n) => this.secrets.store.getByName(ns, n)).filter((s): s is SecretKeys & Obj => s !== undefined);
    const tlsPolicy = this.opts.tlsPolicy ?? DEFAULT_TLS_POLICY;
    const refs = {
      missing: missingReferences(typedFleet, referencedPools, secrets, tlsPolicy),
      usable: usablePools(typedFleet, referencedPools, secrets, tlsPolicy),
    };
    for (const m of refs.missing)
      this.recorder.event(fleet, 'Warning', m.kind === 'MiningPool' ? 'PoolNotFound' : m.kind === 'TLSPolicy' ? 'TLSRequired' : 'SecretNotFound', m.message);

    const selector = fleetSelector(typedFleet);

    if (refs.usable.length === 0) {
      log.warn({ missing: refs.missing.map((m) => m.message) }, 'no usable pool; waiting for the referenced objects');
      const wait = { fleet, selector, activePool: undefined, missing: refs.missing, desiredReplicas: spec.replicas, ...(targets ? { targets } : {}) };
      return this.waitForReferences(fleet, wait, signal, true);
    }
    if (targets && podLayout(typedFleet) === 'supervisor' && networkTargets === undefined) {
      // targetsFrom never resolved: nothing to render yet. The ConfigMap watch (and the retry)
      // brings the fleet back when it is created or fixed.
      log.warn({ problem: targets.source === 'configMap' && !targets.ok ? targets.message : '' }, 'network targets not resolved; waiting for the ConfigMap');
      const wait = { fleet: typedFleet, selector, activePool: fleet.status?.activePool, missing: refs.missing, desiredReplicas: 0, targets };
      return this.waitForReferences(fleet, wait, signal, false);
    }

    // The failover decision (failover.ts): pool health from the MiningPools' status, the previous
    // decision from our status and the published runtime ConfigMap.
    const runtimeName = fleetNames(fleet.metadata.name!).runtimeConfigMap;
    const published = this.publishedRuntime(ns, runtimeName);
    const podNames = (this.pods?.store.byIndex(PODS_BY_FLEET, `${ns}/${fleet.metadata.name}`) ?? [])
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name!)
      .sort();
    const nowMs = Date.now();
    const decision = fleetDecision(typedFleet, refs.usable, podNames, published, nowMs);
    const activePool =
      (decision.activePool && refs.usable.some((p) => p.metadata.name === decision.activePool) ? decision.activePool : undefined) ??
      selectActivePool(typedFleet, refs.usable) ??
      refs.usable[0]!.metadata.name!;
    // Economics decides before the Deployment is computed: suspended means 0 replicas.
    // Network fleets run one supervisor per targetsPerPod devices: that many "miners" (pods) while on.
    const econ: EconomicsOutcome | undefined = this.economics?.decide(
      { ...fleet, spec },
      refs.usable.find((p) => p.metadata.name === activePool),
      log,
      podLayout(typedFleet) === 'supervisor' ? desiredReplicas(typedFleet, false, networkTargets) : undefined,
    );
    const suspended = econ?.suspended ?? false;
    const deviceAssignments = this.deviceAssignments(typedFleet, networkTargets, podNames, published, suspended);
    const desired = desiredFleetObjects({
      fleet: typedFleet,
      suspended,
      pools: refs.usable,
      activePool,
      runtimeAssignments: decision.assignments,
      runtimeRevision: this.runtimeRevision(
        published,
        activePool,
        decision.assignments,
        suspendDevices(typedFleet, suspended),
        fleet.status?.activePool !== undefined,
        deviceAssignments,
      ),
      ...(networkTargets ? { networkTargets } : {}),
      ...(deviceAssignments ? { deviceAssignments } : {}),
      operator: {
        minerImage: this.opts.minerImage,
        imagePullPolicy: this.opts.minerImagePullPolicy,
        networkPolicy: spec.networkPolicy.enabled ? await this.networkPolicySettings(signal) : undefined,
      },
    });

    let applyError: string | undefined;
    try {
      await this.applyAll(fleet, desired, log, signal);
    } catch (err) {
      // Cancelled (leadership lost): stop here, write nothing more.
      if (signal.aborted) throw err;
      applyError = (err as Error).message;
    }

    const previousPool = fleet.status?.activePool;
    const status = this.computeStatus({
      fleet,
      selector,
      activePool,
      missing: refs.missing,
      deployment: this.owned.get(Deployments)!.store.getByName(ns, desired.deployment.metadata!.name!),
      desiredReplicas: desired.deployment.spec?.replicas ?? spec.replicas,
      applyError,
      ...(targets ? { targets } : {}),
      now: nowTime(),
    });
    applyDecisionToStatus(status, decision, fleet.metadata.generation ?? 0, nowTime());
    if (previousPool !== activePool || decision.switched) {
      status.lastPoolSwitchTime = nowTime();
      // The switch record is made durable before the status that ends the switch: a leader killed
      // in between leaves status on the old pool, and its successor records the same eventId again.
      if (previousPool && this.recordSwitch(fleet, previousPool, activePool, decision, desired, log)) await this.opts.audit?.flush?.(SWITCH_FLUSH_MS);
    } else if (fleet.status?.lastPoolSwitchTime) status.lastPoolSwitchTime = fleet.status.lastPoolSwitchTime;
    if (econ) this.economics!.applyTo(status, econ, fleet.metadata.generation ?? 0, nowTime());
    this.recordMissing(fleet, refs.missing, status);
    await this.writeStatus(fleet, status, signal);

    if (applyError) {
      this.recorder.event(fleet, 'Warning', 'ApplyFailed', applyError);
      throw new Error(applyError);
    }
    if (refs.missing.length || (targets?.source === 'configMap' && !targets.ok)) return { requeue: true };
    // Economics and a pending failback both ask to decide again later: the sooner wins.
    const later = [econ?.requeueAfterMs, decision.recheckAtMs !== undefined ? Math.max(1000, decision.recheckAtMs - Date.now() + 100) : undefined].filter(
      (x): x is number => x !== undefined,
    );
    if (later.length) return { requeueAfterMs: Math.min(...later) };
  }

  /**
   * The fleet waits for what it references (usable pools, or its targets ConfigMap): only its
   * status is written, from the cached Deployment, and it is requeued. `audit`: missing
   * references go to the audit trail.
   */
  private async waitForReferences(fleet: FleetObj, inputs: Omit<StatusInputs, 'deployment' | 'now'>, signal: AbortSignal, audit: boolean): Promise<Result> {
    const deployment = this.owned.get(Deployments)!.store.byIndex(BY_OWNER_UID, fleet.metadata.uid!)[0];
    const status = this.computeStatus({ ...inputs, deployment, now: nowTime() });
    carryEconomics(status, fleet.status);
    if (audit) this.recordMissing(fleet, inputs.missing, status);
    await this.writeStatus(fleet, status, signal);
    return { requeue: true };
  }

  /**
   * A network fleet's targets (undefined for other kinds): inline, or read from its targetsFrom
   * ConfigMap in the shared ConfigMap cache. The last good list is the one in the fleet's rendered
   * config, so a bad edit (or a restart of the operator meanwhile) keeps what runs.
   */
  private resolveTargets(fleet: MinerFleet): TargetsResolution | undefined {
    const net = fleet.spec.device.network;
    if (fleet.spec.device.kind !== 'network' || !net) return undefined;
    if (!net.targetsFrom) return resolveNetworkTargets(fleet, undefined);
    const ns = fleet.metadata.namespace!;
    const configMaps = this.owned.get(ConfigMaps)!.store;
    const source = configMaps.getByName(ns, net.targetsFrom.configMapRef.name) as { data?: Record<string, string> } | undefined;
    const lastGood = (): NetworkTarget[] | undefined => {
      const rendered = configMaps.getByName(ns, fleetNames(fleet.metadata.name!).configMap) as { data?: Record<string, string> } | undefined;
      const text = rendered?.data?.[MINER_CONFIG_KEY];
      try {
        return text ? renderedTargets(parseYaml(text) as Parameters<typeof renderedTargets>[0]) : undefined;
      } catch {
        return undefined; // rendered by us: always YAML; edited by hand: no last good list
      }
    };
    return resolveNetworkTargets(fleet, source, lastGood);
  }

  /**
   * Which supervisor pod drives which device (device-assignment.ts). Published only when the fleet
   * has, or is about to have, more than one supervisor: a single pod with no map drives every
   * target at once (and Recreate rollouts never run two pods of one template side by side).
   */
  private deviceAssignments(
    fleet: MinerFleet,
    targets: NetworkTarget[] | undefined,
    pods: string[],
    published: PublishedRuntime,
    suspended: boolean,
  ): Record<string, string[]> | undefined {
    if (podLayout(fleet) !== 'supervisor' || !targets) return undefined;
    const want = desiredReplicas(fleet, suspended, targets);
    if (want <= 1 && pods.length <= 1) return undefined;
    return assignDevices({
      targets: targets.map((t) => t.name),
      pods,
      perPod: fleet.spec.device.network?.targetsPerPod ?? targets.length,
      previous: published.deviceAssignments ?? {},
    }).assignments;
  }

  /**
   * Missing references go to the audit trail once per occurrence: when the fleet's PoolAvailable
   * condition turns False or names other missing objects. The id carries the condition's
   * transition time and what is missing, so a reconcile on a cache that lags our own status
   * write records the same occurrence under the same id (kept once by the store).
   */
  private recordMissing(fleet: FleetObj, missing: ReturnType<typeof missingReferences>, status: MinerFleetStatus): void {
    if (missing.length === 0) return;
    const cond = status.conditions?.find((c) => c.type === MinerFleetConditionType.PoolAvailable);
    const prev = fleet.status?.conditions?.find((c) => c.type === MinerFleetConditionType.PoolAvailable);
    if (!cond || (prev?.status === cond.status && prev.message === cond.message)) return;
    const what = missing.map((m) => `${m.kind}/${m.name}`).join(',');
    const eventId = `${fleet.metadata.uid}:missing-reference:${cond.lastTransitionTime}:${createHash('sha256').update(what).digest('hex').slice(0, 16)}`;
    if (this.lastMissing.get(fleet.metadata.uid!) === eventId) return;
    this.lastMissing.set(fleet.metadata.uid!, eventId);
    const pools = [...new Set(missing.map((m) => m.pool))];
    (this.opts.audit ?? NOOP_AUDIT_SINK).record({
      type: 'missing-reference',
      namespace: fleet.metadata.namespace!,
      fleet: fleet.metadata.name!,
      ...(pools.length === 1 ? { pool: pools[0]! } : {}),
      reason: cond.reason ?? 'MissingReference',
      message: cond.message ?? what,
      severity: 'warning',
      details: { missing: what, pools: pools.join(',') },
      eventId,
    });
  }

  /**
   * One switch: an Event, a metric, an audit record. The audit id is derived from the published
   * revision, so a new leader that finishes a switch the old one published records it only once.
   */
  private recordSwitch(fleet: FleetObj, from: string, to: string, d: ReturnType<typeof fleetDecision>, desired: DesiredFleetObjects, log: Logger): boolean {
    const ns = fleet.metadata.namespace!;
    const reason = d.reason === 'Steady' || d.reason === 'Initial' || d.reason === 'NoPoolAvailable' ? 'Rebalance' : d.reason;
    let revision = 0;
    try {
      revision = (JSON.parse(desired.runtimeConfigMap.data?.[RUNTIME_KEY] ?? '{}') as { revision?: number }).revision ?? 0;
    } catch {
      /* rendered by us: always JSON */
    }
    const eventId = `${fleet.metadata.uid}:pool-switch:${revision}:${from}->${to}`;
    if (this.lastSwitch.get(fleet.metadata.uid!) === eventId) return false;
    this.lastSwitch.set(fleet.metadata.uid!, eventId);
    const message = `${d.message} (active pool "${from}" -> "${to}", published in ConfigMap ${ns}/${desired.runtimeConfigMap.metadata?.name} revision ${revision})`;
    this.recorder.event(fleet, reason === 'Failover' ? 'Warning' : 'Normal', 'ActivePoolChanged', `Pool${reason}: ${message}`);
    this.switches?.inc({ namespace: ns, fleet: fleet.metadata.name!, from, to, reason });
    log.info({ pool: to, previousPool: from, reason, revision, moved: d.moved }, 'active pool changed');
    (this.opts.audit ?? NOOP_AUDIT_SINK).record({
      type: reason === 'Failback' ? 'failback' : 'failover',
      namespace: ns,
      fleet: fleet.metadata.name!,
      pool: to,
      reason: `Pool${reason}`,
      message,
      severity: reason === 'Failover' ? 'warning' : 'info',
      details: { from, to, revision, moved: d.moved, strategy: fleet.spec.failover?.strategy ?? 'Priority' },
      eventId,
    });
    return true;
  }

  private publishedRuntime(ns: string, configMapName: string): PublishedRuntime & { present: boolean } {
    const cached = this.owned.get(ConfigMaps)!.store.getByName(ns, configMapName) as { data?: Record<string, string> } | undefined;
    try {
      const v = JSON.parse(cached?.data?.[RUNTIME_KEY] ?? '{}') as Record<string, unknown>;
      const out: PublishedRuntime & { present: boolean } = { present: cached !== undefined };
      if (typeof v.activePool === 'string') out.activePool = v.activePool;
      if (typeof v.revision === 'number' && Number.isInteger(v.revision) && v.revision >= 0) out.revision = v.revision;
      if (v.suspended === true) out.suspended = true;
      if (v.deviceAssignments && typeof v.deviceAssignments === 'object' && !Array.isArray(v.deviceAssignments)) {
        out.deviceAssignments = Object.fromEntries(
          Object.entries(v.deviceAssignments as Record<string, unknown>)
            .filter((e): e is [string, unknown[]] => Array.isArray(e[1]))
            .map(([pod, ds]) => [pod, ds.filter((d): d is string => typeof d === 'string')]),
        );
      }
      if (v.assignments && typeof v.assignments === 'object' && !Array.isArray(v.assignments)) {
        out.assignments = Object.fromEntries(
          Object.entries(v.assignments as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'),
        );
      }
      return out;
    } catch {
      return { present: cached !== undefined }; // unreadable (edited by hand): a new revision below
    }
  }

  /**
   * The live channel's revision only grows: keep the published revision while the active pool
   * (and the devices' suspension) is the same, bump it when it changes (miners ignore values
   * older than what they have seen).
   */
  private runtimeRevision(
    published: PublishedRuntime & { present: boolean },
    activePool: string,
    assignments: Record<string, string>,
    suspended: boolean,
    publishedBefore: boolean,
    deviceAssignments: Record<string, string[]> | undefined,
  ): number {
    const revision = published.revision;
    // Lost (deleted or garbled ConfigMap) after miners may have seen revisions: restart from the
    // clock, which is above any counter reached by bumping once per pool switch.
    if (revision === undefined) return publishedBefore || published.present ? Math.floor(Date.now() / 1000) : 0;
    const sameAssignments = JSON.stringify(sortedEntries(published.assignments ?? {})) === JSON.stringify(sortedEntries(assignments));
    const sameDevices = JSON.stringify(sortedEntries(published.deviceAssignments ?? {})) === JSON.stringify(sortedEntries(deviceAssignments ?? {}));
    return published.activePool === activePool && sameAssignments && sameDevices && (published.suspended ?? false) === suspended ? revision : revision + 1;
  }

  private async applyAll(fleet: FleetObj, desired: DesiredFleetObjects, log: Logger, signal: AbortSignal): Promise<void> {
    const ns = fleet.metadata.namespace!;
    const ownerRef = {
      apiVersion: API_VERSION,
      kind: MINER_FLEET_KIND,
      name: fleet.metadata.name!,
      uid: fleet.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    const errors: string[] = [];
    const created: string[] = [];
    const updated: string[] = [];
    const deleted: string[] = [];
    // RBAC and config first, the Deployment last: its pods need the others.
    for (const phase of [OWNED.slice(0, -1), OWNED.slice(-1)]) {
      const work: Promise<void>[] = [];
      for (const { field, rt } of phase) {
        if (desired[field] === undefined) {
          if (OPTIONAL_OWNED.has(field)) work.push(this.deleteOpted(fleet, field, rt, log, signal, deleted, errors));
          continue;
        }
        const built = desired[field] as unknown as Obj;
        built.apiVersion = rt.apiVersion;
        built.kind = rt.kind;
        built.metadata = { ...built.metadata, namespace: ns };
        if (!built.metadata.ownerReferences?.some((r) => r.controller)) built.metadata.ownerReferences = [ownerRef];
        // The hash makes a removed field a difference the subset check sees (see applied-hash.ts).
        const obj = withAppliedHash(built);
        const name = obj.metadata.name!;
        const cached = this.owned.get(rt)!.store.getByName(ns, name);
        if (cached && isSubset(obj, cached)) continue;
        this.stats.applies++;
        work.push(
          this.rest.apply(objectPath(rt, ns, name), obj, FIELD_MANAGER, true, { signal }).then(
            () => {
              (cached ? updated : created).push(`${rt.kind} ${name}`);
              log.info({ kind: rt.kind, object: name }, `${cached ? 'updated' : 'created'} owned object`);
            },
            (err: Error) => {
              errors.push(`apply ${rt.kind} ${ns}/${name}: ${err.message}`);
            },
          ),
        );
      }
      await Promise.all(work);
      if (errors.length) break;
    }
    // One Event per reconcile and verb keeps a cold start of many fleets from flooding the API.
    if (created.length) this.recorder.event(fleet, 'Normal', 'Created', `created ${created.join(', ')}`);
    if (updated.length) this.recorder.event(fleet, 'Normal', 'Updated', `updated ${updated.join(', ')} (spec change or drift repaired)`);
    if (deleted.length) this.recorder.event(fleet, 'Normal', 'Deleted', `deleted ${deleted.join(', ')} (opted out in the spec)`);
    if (errors.length) throw new Error(errors.join('; '));
  }

  /** An owned object the spec opted out of: delete ours (never one another controller owns). */
  private async deleteOpted(
    fleet: FleetObj,
    field: keyof DesiredFleetObjects,
    rt: ResourceType,
    log: Logger,
    signal: AbortSignal,
    deleted: string[],
    errors: string[],
  ): Promise<void> {
    const ns = fleet.metadata.namespace!;
    const name = field === 'networkPolicy' ? fleetNames(fleet.metadata.name!).networkPolicy : undefined;
    if (!name) return;
    const cached = this.owned.get(rt)!.store.getByName(ns, name);
    if (!cached || cached.metadata.deletionTimestamp || !cached.metadata.ownerReferences?.some((r) => r.controller && r.uid === fleet.metadata.uid)) return;
    this.stats.applies++;
    try {
      await this.rest.delete(objectPath(rt, ns, name), undefined, { signal });
      deleted.push(`${rt.kind} ${name}`);
      log.info({ kind: rt.kind, object: name }, 'deleted owned object (opted out)');
    } catch (err) {
      if (!isNotFound(err)) errors.push(`delete ${rt.kind} ${ns}/${name}: ${(err as Error).message}`);
    }
  }

  private async writeStatus(fleet: FleetObj, status: MinerFleetStatus, signal: AbortSignal): Promise<void> {
    if (statusUpToDate(status, fleet.status)) return;
    this.stats.statusWrites++;
    await this.rest.apply(
      objectPath(MinerFleets, fleet.metadata.namespace, fleet.metadata.name!, 'status'),
      { apiVersion: API_VERSION, kind: MINER_FLEET_KIND, metadata: { name: fleet.metadata.name, namespace: fleet.metadata.namespace }, status },
      FIELD_MANAGER,
      true,
      { signal },
    );
  }
}

/** Status fields we own already hold these values (conditions compared per type). */
export function statusUpToDate(want: MinerFleetStatus, have: MinerFleetStatus | undefined): boolean {
  if (!have) return false;
  const { conditions, ...rest } = want;
  if (!isSubset(rest, have)) return false;
  for (const c of conditions ?? []) {
    const h = have.conditions?.find((x) => x.type === c.type);
    if (!h || !isSubset(c, h)) return false;
  }
  return true;
}

function sortedEntries<V>(o: Record<string, V>): Array<[string, V]> {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function nowTime(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Wires the informers (fleets indexed by pool, pools indexed by Secret, Secrets without values,
 * the owned kinds filtered by owner) and the controller into the manager.
 */
export function setupMinerFleetController(
  mgr: Manager,
  opts: MinerFleetControllerOptions,
  log: Logger,
): { controller: Controller; reconciler: MinerFleetReconciler; recorder: EventRecorder; feeds: FeedRegistry } {
  const fleets = mgr.informer<FleetObj>(MinerFleets, {
    indexers: { [FLEETS_BY_POOL]: fleetPoolKeys, [FLEETS_BY_TARGETS_CONFIGMAP]: fleetTargetsConfigMapKeys },
    transform: trimUserObject,
  });
  const pools = mgr.informer<PoolObj>(MiningPools, { indexers: { [POOLS_BY_SECRET]: poolSecretKeys }, transform: trimUserObject });
  const secrets = mgr.informer<SecretKeys & Obj>(Secrets, { transform: secretsCacheTransform });
  const owned = new Map<ResourceType, Informer<Obj>>();
  for (const rt of new Set(OWNED.map((o) => o.rt))) {
    owned.set(rt, mgr.informer<Obj>(rt, { indexers: { [BY_OWNER_UID]: byOwnerUid }, transform: stripManagedFields }));
  }
  const pods = mgr.informer<Obj>(Pods, {
    labelSelector: MINER_PODS_SELECTOR,
    indexers: { [PODS_BY_FLEET]: podFleetKey },
    transform: trimPod,
  });
  const recorder = new EventRecorder(mgr.rest, 'minefleet-operator', log, mgr.leadershipSignal);
  // Feed values are shared by all fleets; litecoind logins are read from their Secret when fetched
  // (the Secret cache holds no values).
  const feeds = new FeedRegistry({
    ...opts.economics?.feeds,
    readSecret: async (ns, name) => {
      try {
        const s = await mgr.rest.get<{ data?: Record<string, string> }>(objectPath(Secrets, ns, name));
        return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    metricsRegistry: mgr.metrics.registry,
    logger: log.child({ controller: CONTROLLER_NAME }),
  });
  const economics = new FleetEconomics({
    feeds,
    recorder,
    measurements: opts.economics?.measurements,
    audit: opts.economics?.audit,
    metricsRegistry: mgr.metrics.registry,
  });
  const reconciler = new MinerFleetReconciler(
    mgr.rest,
    fleets,
    pools,
    secrets,
    owned,
    recorder,
    opts,
    log.child({ controller: CONTROLLER_NAME }),
    economics,
    new FleetReplicaMetrics(mgr.metrics.registry),
    pods,
    fleetPoolSwitches(mgr.metrics.registry),
  );
  const controller = new Controller(CONTROLLER_NAME, reconciler, {
    concurrency: opts.concurrency,
    metrics: mgr.metrics,
    logger: log,
    backoffBaseMs: 100,
    backoffMaxMs: opts.backoffMaxMs ?? 60_000,
  });
  controller.for(fleets, { update: fleetUpdateConcernsReconciler });
  for (const inf of owned.values()) controller.owns(inf, MINER_FLEET_KIND, API_VERSION);
  const fleetsOfPool = (ns: string | undefined, pool: string): Request[] =>
    fleets.store.byIndex(FLEETS_BY_POOL, `${ns ?? ''}/${pool}`).map((f) => ({ namespace: f.metadata.namespace, name: f.metadata.name! }));
  controller.watches(pools, (p) => fleetsOfPool(p.metadata.namespace, p.metadata.name!));
  // Network fleets read their targets from a ConfigMap (targetsFrom): an edit re-renders them.
  // The shared ConfigMap cache (the owned kinds') holds every ConfigMap, so no second cache.
  controller.watches(owned.get(ConfigMaps)!, (cm) =>
    fleets.store
      .byIndex(FLEETS_BY_TARGETS_CONFIGMAP, `${cm.metadata.namespace ?? ''}/${cm.metadata.name}`)
      .map((f) => ({ namespace: f.metadata.namespace, name: f.metadata.name! })),
  );
  // Weighted assigns each pod: a pod coming or going is a new decision.
  controller.watches(pods, (p) => podFleetKey(p).map((k) => ({ namespace: p.metadata.namespace, name: k.slice(k.indexOf('/') + 1) })));
  controller.watches(secrets, (s) => {
    const ns = s.metadata.namespace;
    return pools.store.byIndex(POOLS_BY_SECRET, `${ns ?? ''}/${s.metadata.name}`).flatMap((p) => fleetsOfPool(ns, p.metadata.name!));
  });
  // A feed with news re-evaluates the fleets that read it.
  feeds.onUpdate((keys) => {
    for (const k of keys) controller.queue.add(k);
  });
  mgr.add(controller);
  return { controller, reconciler, recorder, feeds };
}
