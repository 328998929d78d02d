import type { V1Affinity, V1Deployment, V1EnvVar, V1PodSpec, V1Toleration, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { MinerFleet } from '../../../api/v1alpha1/index.js';
import { restrictedContainer, type DeviceAccess } from './device.js';
import { fleetLabels, fleetName, objectLabels, ownedMeta } from './metadata.js';
import { SIDECAR_RESOURCES, SUPERVISOR_COMMAND, SUPERVISOR_CONTAINER_NAME, type PodLayout } from './external.js';
import { CONFIG_DIR, CONFIG_PATH, MINER_CONFIG_KEY, type PoolWiring } from './miner-config.js';
import type { FleetNames } from './names.js';

export const CONTAINER_NAME = 'miner';
export const CONFIG_CHECKSUM_ANNOTATION = 'minefleet.io/config-checksum';
export const METRICS_PORT_NAME = 'metrics';
/** The miner program inside the image (the image's working directory is the repository root). */
export const MINER_COMMAND = ['node', 'dist/miner/src/main.js', 'run', '--config', CONFIG_PATH];

export interface WorkloadInputs {
  fleet: MinerFleet;
  names: FleetNames;
  replicas: number;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  metricsPort: number;
  checksum: string;
  device: DeviceAccess;
  wiring: PoolWiring[];
  /** Our miner alone, the external miner with our supervisor sidecar, or the supervisor alone. */
  layout?: PodLayout;
}

type Container = V1PodSpec['containers'][number];

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A JSON copy without `undefined` members, so the user's free-form objects serialize stably. */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** spec.placement.affinity plus the device's required anti-affinity term (if any). */
function affinityOf(fleet: MinerFleet, device: DeviceAccess): V1Affinity | undefined {
  const user = fleet.spec.placement?.affinity;
  if (!user && !device.requiredAntiAffinity) return undefined;
  const affinity = plain((user ?? {}) as V1Affinity);
  if (device.requiredAntiAffinity) {
    const anti = (affinity.podAntiAffinity ??= {});
    anti.requiredDuringSchedulingIgnoredDuringExecution = [...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []), device.requiredAntiAffinity];
  }
  return affinity;
}

function tolerationsOf(fleet: MinerFleet): V1Toleration[] | undefined {
  const t = fleet.spec.placement?.tolerations;
  if (!t || t.length === 0) return undefined;
  return t.map((x) => plain(x as V1Toleration));
}

/**
 * The miner Deployment. A Deployment (not a StatefulSet or DaemonSet) for every device kind:
 * miners are interchangeable and keep no state, `replicas` maps onto it directly (and with it
 * the scale subresource), and the usb hostPath layout gets its one-pod-per-node rule from a
 * required anti-affinity instead of a DaemonSet, so the fleet still runs exactly `replicas` miners
 * on whichever labelled nodes have sticks.
 */
export function minerDeployment(i: WorkloadInputs): V1Deployment {
  const { fleet, names, device } = i;
  const layout = i.layout ?? 'miner';
  const env: V1EnvVar[] = [
    // Downward API: the miner's identity for worker names, logs and metrics labels.
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    { name: 'MINEFLEET_FLEET', value: fleetName(fleet) },
    ...i.wiring.flatMap((w) => w.env),
  ];
  const volumes: V1Volume[] = [
    { name: 'config', configMap: { name: names.configMap, items: [{ key: MINER_CONFIG_KEY, path: MINER_CONFIG_KEY }] } },
    // The root filesystem is read-only; Node and its libraries may still want a scratch /tmp.
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ...i.wiring.flatMap((w) => (w.volume ? [w.volume] : [])),
    ...device.volumes,
  ];
  const ourMounts: V1VolumeMount[] = [
    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
    ...i.wiring.flatMap((w) => (w.volumeMount ? [w.volumeMount] : [])),
  ];
  /** Our program (miner or supervisor): config, pool credentials as Secret env, metrics, probes. */
  const ours = (
    name: string,
    command: string[],
    resources: Container['resources'],
    securityContext: Container['securityContext'],
    extraMounts: V1VolumeMount[],
  ): Container => {
    const c: Container = {
      name,
      image: i.image,
      command: [...command],
      ports: [{ name: METRICS_PORT_NAME, containerPort: i.metricsPort, protocol: 'TCP' }],
      env,
      resources,
      volumeMounts: [...ourMounts, ...extraMounts],
      // /healthz: the process is alive; /readyz: authorized on a pool and holding a job (the
      // supervisor: at least one device answering). A miner without work leaves the Service
      // endpoints (and the ready count in the fleet status) but is not restarted: it is
      // reconnecting or failing over on its own.
      livenessProbe: { httpGet: { path: '/healthz', port: METRICS_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/readyz', port: METRICS_PORT_NAME }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
      securityContext,
    };
    if (i.imagePullPolicy) c.imagePullPolicy = i.imagePullPolicy;
    return c;
  };
  let containers: Container[];
  let defaultContainer = CONTAINER_NAME;
  switch (layout) {
    case 'miner':
      containers = [ours(CONTAINER_NAME, MINER_COMMAND, device.resources, device.containerSecurityContext, device.volumeMounts)];
      break;
    case 'supervisor':
      containers = [ours(SUPERVISOR_CONTAINER_NAME, SUPERVISOR_COMMAND, device.resources, device.containerSecurityContext, [])];
      defaultContainer = SUPERVISOR_CONTAINER_NAME;
      break;
    case 'sidecar': {
      const ext = fleet.spec.miner.external;
      if (!ext) throw new Error(`desired state: MinerFleet ${fleetName(fleet)} has no spec.miner.external for a sidecar layout`);
      // The external miner gets the device (resources, mounts, the device cgroup where needed)
      // and nothing else: no config, no credentials (the supervisor hands it pools over its API),
      // no token (automount is per pod, but only the supervisor reads it).
      const miner: Container = {
        name: CONTAINER_NAME,
        image: ext.image,
        resources: device.resources,
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...device.volumeMounts],
        securityContext: device.containerSecurityContext,
      };
      if (ext.command) miner.command = [...ext.command];
      if (ext.args) miner.args = [...ext.args];
      if (i.imagePullPolicy) miner.imagePullPolicy = i.imagePullPolicy;
      containers = [miner, ours(SUPERVISOR_CONTAINER_NAME, SUPERVISOR_COMMAND, plain(SIDECAR_RESOURCES), restrictedContainer(), [])];
      break;
    }
  }

  const podSpec: V1PodSpec = {
    serviceAccountName: names.serviceAccount,
    // The miner watches its runtime ConfigMap (the live channel) with this ServiceAccount's token.
    automountServiceAccountToken: true,
    // Service links would add env vars for every Service in the namespace: noise, and with
    // hundreds of fleets a large environment.
    enableServiceLinks: false,
    securityContext: device.podSecurityContext,
    containers,
    volumes,
  };
  if (device.runtimeClassName) podSpec.runtimeClassName = device.runtimeClassName;
  const placement = fleet.spec.placement;
  if (placement?.nodeSelector && Object.keys(placement.nodeSelector).length > 0) podSpec.nodeSelector = sortedRecord(placement.nodeSelector);
  const tolerations = tolerationsOf(fleet);
  if (tolerations) podSpec.tolerations = tolerations;
  const affinity = affinityOf(fleet, device);
  if (affinity) podSpec.affinity = affinity;
  if (placement?.priorityClassName) podSpec.priorityClassName = placement.priorityClassName;

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMeta(fleet, names.deployment),
    spec: {
      replicas: i.replicas,
      selector: { matchLabels: fleetLabels(fleet) },
      strategy: device.strategy,
      template: {
        metadata: {
          labels: objectLabels(fleet),
          annotations: {
            // Changes with the static config only, so a config change rolls the pods while a
            // live pool switch (runtime ConfigMap) does not.
            [CONFIG_CHECKSUM_ANNOTATION]: i.checksum,
            'kubectl.kubernetes.io/default-container': defaultContainer,
          },
        },
        spec: podSpec,
      },
    },
  };
}
