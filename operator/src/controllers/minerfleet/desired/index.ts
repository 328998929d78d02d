/**
 * What a MinerFleet should own, as pure functions: same inputs, byte-identical objects (so a
 * server-side apply of an unchanged fleet is a no-op). No I/O here; the reconciler reads the world
 * from its cache, calls desiredFleetObjects and applies the result.
 */
import type { V1ConfigMap, V1Deployment, V1NetworkPolicy, V1Role, V1RoleBinding, V1Service, V1ServiceAccount } from '@kubernetes/client-node';
import { RuntimeStateSchema, type RuntimeState } from '#miner/runtime';
import type { MinerFleet, MiningPool, NetworkTarget } from '../../../api/v1alpha1/index.js';
import { deviceAccess } from './device.js';
import { networkTargets, podLayout, supervisedDevices, supervisorPods, suspendDevices } from './external.js';
import { fleetLabels, fleetName, fleetNamespace, ownedMeta } from './metadata.js';
import { DEFAULT_METRICS_PORT, MINER_CONFIG_KEY, poolWiring, renderMinerConfig, RUNTIME_KEY } from './miner-config.js';
import { fleetNames } from './names.js';
import { minerNetworkPolicy, type NetworkPolicySettings } from './network-policy.js';
import { orderedPools } from './pools.js';
import { minerRole, minerRoleBinding, minerServiceAccount } from './rbac.js';
import { metricsService } from './service.js';
import { minerDeployment } from './workload.js';

export { fleetLabels, fleetSelector, objectLabels, ownerReference } from './metadata.js';
export { selectActivePool, orderedPools } from './pools.js';
export { missingReferences, usablePools, type MissingReference, type SecretRefView } from './references.js';
export { fleetNames, type FleetNames } from './names.js';
export { cpuThreads, deviceAccess, DIALOUT_GID, MINER_UID } from './device.js';
export { CONFIG_PATH, MINER_CONFIG_KEY, poolEnvNames, RUNTIME_KEY, TLS_DIR } from './miner-config.js';
export { FALLBACK_API_SERVER_PORTS, poolEndpoint, type ApiServerEndpoint, type NetworkPolicySettings } from './network-policy.js';
export { CONFIG_CHECKSUM_ANNOTATION, CONTAINER_NAME, MINER_COMMAND, METRICS_PORT_NAME } from './workload.js';
export {
  networkTargets,
  podLayout,
  SIDECAR_DEVICE_HOST,
  SIDECAR_RESOURCES,
  supervisedDeviceCount,
  supervisedDevices,
  supervisorPods,
  SUPERVISOR_COMMAND,
  SUPERVISOR_CONTAINER_NAME,
  suspendDevices,
  type PodLayout,
} from './external.js';

export interface DesiredInputs {
  /** Full object (metadata.name/namespace/uid/generation), spec already defaulted. */
  fleet: MinerFleet;
  /** The fleet's referenced pools that exist (and are usable), in any order. */
  pools: MiningPool[];
  /** Chosen by the controller; published in the runtime ConfigMap only. */
  activePool: string;
  operator: {
    minerImage: string;
    imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
    metricsPort?: number;
    /** Peers and API server endpoints of the fleets' NetworkPolicies (default DEFAULT_NETWORK_POLICY_SETTINGS). */
    networkPolicy?: NetworkPolicySettings;
  };
  /** Economic suspension (scale to 0, keep spec.replicas); defaults to fleet.status.suspended. */
  suspended?: boolean;
  /** revision of the live channel's RuntimeState; the controller keeps it growing (default 0). */
  runtimeRevision?: number;
  /** Weighted failover: pod -> pool, published beside activePool. */
  runtimeAssignments?: Record<string, string>;
  /**
   * Network fleets with spec.device.network.targetsFrom: the targets read from the ConfigMap (or
   * the last good list). Inline targets need none.
   */
  networkTargets?: NetworkTarget[];
  /** Network fleets with several supervisor pods: pod -> devices it drives, published in runtime.json. */
  deviceAssignments?: Record<string, string[]>;
}

export interface DesiredFleetObjects {
  serviceAccount: V1ServiceAccount;
  role: V1Role;
  roleBinding: V1RoleBinding;
  /** `<fleet>-config`, key miner.yaml, validated with MinerConfigSchema. */
  configMap: V1ConfigMap;
  /** `<fleet>-runtime`, key runtime.json = RuntimeState {activePool, revision, assignments, suspended}. */
  runtimeConfigMap: V1ConfigMap;
  deployment: V1Deployment;
  /** `<fleet>-metrics`, port "metrics". */
  service: V1Service;
  /** `<fleet>-miner`; absent when spec.networkPolicy.enabled is false (the controller then deletes it). */
  networkPolicy?: V1NetworkPolicy;
}

/** The chart's operator pod labels and the usual Prometheus pod label, for callers that set nothing. */
export const DEFAULT_NETWORK_POLICY_SETTINGS: NetworkPolicySettings = {
  apiServer: [],
  operatorPods: { labels: { 'app.kubernetes.io/name': 'minefleet', 'app.kubernetes.io/component': 'operator' } },
  prometheus: { podSelector: { 'app.kubernetes.io/name': 'prometheus' } },
};

/**
 * Replicas the workload runs: spec.replicas, or 0 while the fleet is paused or suspended. A
 * network fleet keeps its supervisors: scaling them away would leave the ASICs hashing, so they
 * disable them instead (suspendDevices); spec.replicas switches them on (1) or off (0) and their
 * number is ceil(targets / targetsPerPod). `resolved`: the targetsFrom list (see networkTargets).
 */
export function desiredReplicas(fleet: MinerFleet, suspended?: boolean, resolved?: NetworkTarget[]): number {
  if (podLayout(fleet) === 'supervisor')
    return supervisorPods(fleet.spec.replicas, networkTargets(fleet, resolved).length, fleet.spec.device.network?.targetsPerPod ?? 1);
  if (fleet.spec.paused) return 0;
  if (suspended ?? fleet.status?.suspended ?? false) return 0;
  return fleet.spec.replicas;
}

export function desiredFleetObjects(inputs: DesiredInputs): DesiredFleetObjects {
  const { fleet } = inputs;
  const id = `${fleetNamespace(fleet)}/${fleetName(fleet)}`;
  const ordered = orderedPools(fleet, inputs.pools);
  if (ordered.length === 0)
    throw new Error(`desired state: MinerFleet ${id} has none of its pools (${fleet.spec.pools.map((p) => p.name).join(', ')}) among the given MiningPools`);
  if (!ordered.some((o) => o.ref.name === inputs.activePool)) {
    throw new Error(
      `desired state: active pool "${inputs.activePool}" of MinerFleet ${id} is not one of its existing pools (${ordered.map((o) => o.ref.name).join(', ')})`,
    );
  }
  const names = fleetNames(fleetName(fleet));
  const metricsPort = inputs.operator.metricsPort ?? DEFAULT_METRICS_PORT;
  const device = deviceAccess(fleet, fleetLabels(fleet));
  const wiring = poolWiring(ordered);
  const external = supervisedDevices(fleet, inputs.networkTargets);
  if (podLayout(fleet) === 'supervisor' && !external)
    throw new Error(`desired state: network MinerFleet ${id} has no targets to render (spec.device.network.targetsFrom not resolved)`);
  const rendered = renderMinerConfig({
    fleet,
    ordered,
    wiring,
    backend: device.backend,
    ...(external ? { external } : {}),
    runtimeConfigMapName: names.runtimeConfigMap,
    metricsPort,
  });
  const devicesSuspended = suspendDevices(fleet, inputs.suspended ?? fleet.status?.suspended ?? false);

  const assignments =
    inputs.runtimeAssignments && Object.keys(inputs.runtimeAssignments).length > 0
      ? Object.fromEntries(Object.entries(inputs.runtimeAssignments).sort(([a], [b]) => (a < b ? -1 : 1)))
      : undefined;
  // Sorted by pod so an unchanged assignment renders byte-identical (no write).
  const deviceAssignments =
    podLayout(fleet) === 'supervisor' && inputs.deviceAssignments
      ? Object.fromEntries(Object.entries(inputs.deviceAssignments).sort(([a], [b]) => (a < b ? -1 : 1)))
      : undefined;
  const runtime: RuntimeState = RuntimeStateSchema.parse({
    activePool: inputs.activePool,
    revision: inputs.runtimeRevision ?? 0,
    ...(assignments ? { assignments } : {}),
    ...(devicesSuspended ? { suspended: true } : {}),
    ...(deviceAssignments ? { deviceAssignments } : {}),
  });

  return {
    serviceAccount: minerServiceAccount(fleet, names),
    role: minerRole(fleet, names),
    roleBinding: minerRoleBinding(fleet, names),
    configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: ownedMeta(fleet, names.configMap), data: { [MINER_CONFIG_KEY]: rendered.yaml } },
    runtimeConfigMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: ownedMeta(fleet, names.runtimeConfigMap),
      data: {
        [RUNTIME_KEY]: JSON.stringify({
          activePool: runtime.activePool,
          revision: runtime.revision,
          ...(runtime.assignments ? { assignments: runtime.assignments } : {}),
          ...(runtime.suspended ? { suspended: true } : {}),
          ...(runtime.deviceAssignments ? { deviceAssignments: runtime.deviceAssignments } : {}),
        }),
      },
    },
    deployment: minerDeployment({
      fleet,
      names,
      replicas: desiredReplicas(fleet, inputs.suspended, inputs.networkTargets),
      image: fleet.spec.miner.image ?? inputs.operator.minerImage,
      imagePullPolicy: fleet.spec.miner.imagePullPolicy ?? inputs.operator.imagePullPolicy,
      metricsPort,
      checksum: rendered.checksum,
      device,
      wiring,
      layout: podLayout(fleet),
    }),
    service: metricsService(fleet, names, metricsPort),
    ...(fleet.spec.networkPolicy.enabled
      ? {
          networkPolicy: minerNetworkPolicy(
            fleet,
            names,
            ordered,
            metricsPort,
            inputs.operator.networkPolicy ?? DEFAULT_NETWORK_POLICY_SETTINGS,
            inputs.networkTargets,
          ),
        }
      : {}),
  };
}
