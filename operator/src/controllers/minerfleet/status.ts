import type { Condition, MinerFleet, MinerFleetStatus } from '../../api/v1alpha1/index.js';
import { MinerFleetConditionType } from '../../api/v1alpha1/index.js';
import { setCondition } from './conditions.js';
import type { MissingReference } from './desired/index.js';
import { podLayout, supervisedDeviceCount } from './desired/external.js';
import { targetsToRender, type TargetsResolution } from './targets.js';

/** The bits of a Deployment the fleet status is derived from. */
export interface DeploymentState {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

export interface StatusInputs {
  fleet: MinerFleet;
  selector: string;
  activePool: string | undefined;
  missing: MissingReference[];
  /** undefined when not created yet (or nothing could be applied) */
  deployment: DeploymentState | undefined;
  /** replicas the workload should run (0 while paused or suspended) */
  desiredReplicas: number;
  /** set when applying owned objects failed in this reconcile */
  applyError?: string;
  /** Network fleets: where their targets came from (targetsFrom: the DeviceTargetsResolved condition). */
  targets?: TargetsResolution;
  now: string;
}

/**
 * The replica counts the fleet metrics report (pure): desired is what the owned Deployment asks
 * for once it exists (else what the fleet wants now: 0 while paused or suspended), ready is the
 * Deployment's readyReplicas (0 before it exists).
 */
export function replicaCounts(deployment: DeploymentState | undefined, desiredReplicas: number): { desired: number; ready: number } {
  return { desired: deployment?.spec?.replicas ?? desiredReplicas, ready: deployment?.status?.readyReplicas ?? 0 };
}

/**
 * Computes the fleet's status (pure). Ready: every desired miner pod is ready. Progressing: the
 * Deployment has not yet rolled out the current template/replica count. Degraded: a reference is
 * missing or the operator could not apply the workload. PoolAvailable: every pool resolves.
 */
export function computeStatus(i: StatusInputs): MinerFleetStatus {
  const gen = i.fleet.metadata.generation ?? 0;
  let conds: Condition[] = i.fleet.status?.conditions ?? [];
  const set = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string) => {
    conds = setCondition(conds, { type, status, reason, message }, gen, i.now);
  };

  const poolRefs = i.fleet.spec.pools.length;
  if (i.missing.length === 0) set(MinerFleetConditionType.PoolAvailable, 'True', 'PoolsResolved', `all ${poolRefs} referenced pool(s) and their Secrets exist`);
  else {
    const reason = i.missing.some((m) => m.kind === 'MiningPool')
      ? 'PoolNotFound'
      : i.missing.some((m) => m.kind === 'TLSPolicy')
        ? 'TLSRequired'
        : 'SecretNotFound';
    set(MinerFleetConditionType.PoolAvailable, 'False', reason, i.missing.map((m) => m.message).join('; '));
  }

  const d = i.deployment;
  const ds = d?.status ?? {};
  const want = i.desiredReplicas;
  const ready = ds.readyReplicas ?? 0;
  const updated = ds.updatedReplicas ?? 0;
  const rolledOut =
    d !== undefined &&
    (ds.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    updated >= want &&
    (ds.replicas ?? 0) === want &&
    (ds.availableReplicas ?? 0) >= want;

  if (!d)
    set(
      'Progressing',
      'True',
      i.missing.length ? 'WaitingForReferences' : 'Creating',
      i.missing.length ? 'waiting for referenced pools/Secrets before creating miners' : 'creating the miner workload',
    );
  else if (!rolledOut) set('Progressing', 'True', 'RollingOut', `${updated}/${want} miner pods updated, ${ready}/${want} ready`);
  else set('Progressing', 'False', 'RolloutComplete', `${want} miner pod(s) rolled out`);

  if (!d)
    set(
      MinerFleetConditionType.Ready,
      'False',
      i.missing.length ? 'PoolUnavailable' : 'Creating',
      i.missing.length ? 'no usable pool: ' + i.missing.map((m) => m.message).join('; ') : 'miner workload not created yet',
    );
  else if (i.fleet.spec.paused && podLayout(i.fleet) === 'supervisor')
    set(MinerFleetConditionType.Ready, 'False', 'Paused', 'paused by spec.paused: the supervisor disables every device');
  else if (i.fleet.spec.paused)
    set(MinerFleetConditionType.Ready, 'False', 'Paused', `paused by spec.paused: ${ds.replicas ?? 0} miner pod(s) still running, 0 wanted`);
  else if (ready >= want) set(MinerFleetConditionType.Ready, 'True', 'MinersReady', `${ready}/${want} miner pods ready`);
  else set(MinerFleetConditionType.Ready, 'False', 'MinersNotReady', `${ready}/${want} miner pods ready`);

  // The ReplicaSet's pod creation refused (admission: Pod Security, quota, a missing
  // RuntimeClass...) is copied into the Deployment as ReplicaFailure; without it a refused fleet
  // would only look like a Deployment that stays at 0 pods.
  const refused = podCreationRefused(i.fleet, d);
  if (i.applyError) set(MinerFleetConditionType.Degraded, 'True', 'ApplyFailed', i.applyError);
  else if (i.missing.length) set(MinerFleetConditionType.Degraded, 'True', 'MissingReferences', i.missing.map((m) => m.message).join('; '));
  else if (i.targets?.source === 'configMap' && !i.targets.ok) set(MinerFleetConditionType.Degraded, 'True', i.targets.reason, i.targets.message);
  else if (refused) set(MinerFleetConditionType.Degraded, 'True', refused.reason, refused.message);
  else set(MinerFleetConditionType.Degraded, 'False', 'AsExpected', 'all owned objects applied');
  if (refused && ready < want && !i.fleet.spec.paused)
    set(MinerFleetConditionType.Ready, 'False', refused.reason, `${ready}/${want} miner pods ready: ${refused.message}`);

  // targetsFrom: whether the ConfigMap's list is what runs. Gone with targetsFrom (inline targets need no resolving).
  if (i.targets?.source === 'configMap') {
    if (i.targets.ok) set(MinerFleetConditionType.DeviceTargetsResolved, 'True', 'TargetsResolved', i.targets.message);
    else set(MinerFleetConditionType.DeviceTargetsResolved, 'False', i.targets.reason, i.targets.message);
  } else conds = conds.filter((c) => c.type !== MinerFleetConditionType.DeviceTargetsResolved);

  const order = ['Ready', 'Progressing', 'Degraded', 'PoolAvailable', 'DeviceTargetsResolved'];
  conds.sort((a, b) => ((order.indexOf(a.type) + 100) % 100) - ((order.indexOf(b.type) + 100) % 100));

  const status: MinerFleetStatus = {
    replicas: ds.replicas ?? 0,
    readyReplicas: ready,
    selector: i.selector,
    conditions: conds,
    observedGeneration: gen,
  };
  if (i.activePool !== undefined) status.activePool = i.activePool;
  const devices = supervisedDeviceCount(i.fleet, ds.replicas ?? 0, i.targets ? targetsToRender(i.targets) : undefined);
  if (devices !== undefined) status.devices = devices;
  return status;
}

/**
 * Why the Deployment cannot create miner pods, from its ReplicaFailure condition (pure). Pod
 * Security admission gets its own reason: a usb fleet mounts host devices (hostPath), which only
 * a namespace enforcing the "privileged" level admits, and the fix is on the namespace.
 */
export function podCreationRefused(fleet: MinerFleet, d: DeploymentState | undefined): { reason: string; message: string } | undefined {
  const c = d?.status?.conditions?.find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
  if (!c) return undefined;
  const why = c.message ?? c.reason ?? 'pod creation failed';
  if (!/violates PodSecurity/.test(why)) return { reason: 'PodCreationFailed', message: `miner pods cannot be created: ${why}` };
  const hint =
    fleet.spec.device.kind === 'usb'
      ? '; usb fleets mount host devices (hostPath volumes) and need a namespace labelled pod-security.kubernetes.io/enforce=privileged'
      : '';
  return { reason: 'PodSecurityViolation', message: `the namespace's Pod Security admission refuses the miner pods: ${why}${hint}` };
}
