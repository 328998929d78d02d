import type {
  V1DeploymentStrategy,
  V1PodAffinityTerm,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { MAX_MINER_THREADS, type MinerFleet } from '../../../api/v1alpha1/index.js';
import { quantityString, quantityValue } from './quantity.js';

/** UID/GID of the miner process: the conventional "nonroot" user of distroless images. */
export const MINER_UID = 65532;
/** Group that owns serial devices (/dev/ttyACM*, /dev/ttyUSB*) on Debian/Ubuntu/RHEL hosts. */
export const DIALOUT_GID = 20;

/** How the miner pods reach their hashing device: resources, security, volumes, rollout. */
export interface DeviceAccess {
  resources: V1ResourceRequirements;
  podSecurityContext: V1PodSecurityContext;
  containerSecurityContext: V1SecurityContext;
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
  runtimeClassName?: string;
  strategy: V1DeploymentStrategy;
  /** A required anti-affinity term the pods must satisfy (added to spec.placement.affinity). */
  requiredAntiAffinity?: V1PodAffinityTerm;
  /** The miner config's `backend` section (none for network fleets: the supervisor hashes nothing). */
  backend?: { kind: 'cpu' | 'gpu' | 'usb'; threads?: number; devices?: string[] };
}

type Quantities = Record<string, string>;

/**
 * Hashing threads of a cpu miner. Explicit spec.miner.threads wins; otherwise the whole CPUs of
 * the CPU limit (or request) the user set, at most MAX_MINER_THREADS; otherwise 1. Always written into the config: the
 * miner's own default ("all cores") counts the node's cores, not the pod's CPU limit, and would
 * oversubscribe a throttled container.
 */
export function cpuThreads(fleet: MinerFleet): number {
  const miner = fleet.spec.miner;
  if (miner.threads !== undefined) return miner.threads;
  const cpu = miner.resources?.limits?.cpu ?? miner.resources?.requests?.cpu;
  // Capped at what spec.miner.threads may say: a pod allowed 1000 CPUs still gets a config the
  // miner accepts (it refuses more than 1024 threads).
  if (cpu !== undefined) return Math.min(MAX_MINER_THREADS, Math.max(1, Math.floor(quantityValue(cpu))));
  return 1;
}

/**
 * Restricted Pod Security Standard (the strictest level): non-root, no privilege escalation, no
 * capabilities, RuntimeDefault seccomp, read-only root filesystem. cpu and gpu miners need
 * nothing more, and device-plugin ASICs neither (the plugin hands the device to the container).
 */
function restrictedPod(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: MINER_UID,
    runAsGroup: MINER_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
/** The restricted container context (Pod Security 'restricted'); also the supervisor sidecar's. */
export function restrictedContainer(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: MINER_UID,
    runAsGroup: MINER_UID,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * Requests and limits: the device defaults, then the user's spec.miner.resources on top, key by
 * key. Kept valid whatever the user sets: a default request is dropped when the user set only a
 * limit for that resource (the API server then defaults the request to the limit, never above it),
 * and a default limit is dropped when the user's request exceeds it.
 */
function mergeResources(defaults: { requests: Quantities; limits: Quantities }, fleet: MinerFleet, device: Quantities): V1ResourceRequirements {
  const userReq = Object.fromEntries(Object.entries(fleet.spec.miner.resources?.requests ?? {}).map(([k, v]) => [k, quantityString(v)]));
  const userLim = Object.fromEntries(Object.entries(fleet.spec.miner.resources?.limits ?? {}).map(([k, v]) => [k, quantityString(v)]));
  const requests: Quantities = {};
  const limits: Quantities = {};
  for (const [k, v] of Object.entries(defaults.requests)) if (!(k in userLim) || k in userReq) requests[k] = v;
  for (const [k, v] of Object.entries(defaults.limits)) {
    const req = userReq[k];
    if (req !== undefined && !(k in userLim) && quantityValue(req) > quantityValue(v)) continue;
    limits[k] = v;
  }
  Object.assign(requests, userReq);
  Object.assign(limits, userLim);
  // Extended resources (GPUs, device-plugin ASICs) cannot be overcommitted: the API server demands
  // request == limit, and the count comes from spec.device, not from spec.miner.resources.
  Object.assign(requests, device);
  Object.assign(limits, device);
  return { requests: sortKeys(requests), limits: sortKeys(limits) };
}

/** Sorted keys, values in the spelling the API server stores (see quantity.ts). */
function sortKeys(q: Quantities): Quantities {
  return Object.fromEntries(
    Object.entries(q)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, quantityString(v)]),
  );
}

/** Volume name for the i-th host device (volume names are DNS labels). */
function deviceVolumeName(i: number): string {
  return `host-device-${i}`;
}

export function deviceAccess(fleet: MinerFleet, podSelector: Record<string, string>): DeviceAccess {
  const device = fleet.spec.device;
  switch (device.kind) {
    case 'cpu': {
      const threads = cpuThreads(fleet);
      // One CPU per hashing thread, requested and limited alike (Guaranteed-like CPU): a hashing
      // thread always runs flat out, so anything less is throttled and anything more is idle.
      // Memory: scrypt(N=1024, r=1) needs 128 KiB per hash in flight, so Node's own footprint
      // dominates; 128Mi requested, 256Mi as a ceiling against leaks.
      const resources = mergeResources({ requests: { cpu: String(threads), memory: '128Mi' }, limits: { cpu: String(threads), memory: '256Mi' } }, fleet, {});
      return {
        resources,
        podSecurityContext: restrictedPod(),
        containerSecurityContext: restrictedContainer(),
        volumes: [],
        volumeMounts: [],
        // Plain RollingUpdate (the Deployment default, spelled out so apply owns it): CPUs are
        // fungible, a surge pod finds room like any other pod.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        backend: { kind: 'cpu', threads },
      };
    }
    case 'gpu': {
      if (!device.resourceName) throw new Error('spec.device.resourceName is required for gpu fleets (e.g. nvidia.com/gpu)');
      // The GPU is an extended resource: the device plugin (e.g. NVIDIA's) mounts the device nodes
      // and libraries into exactly the containers that were allotted one, so the pod stays
      // restricted. The host process feeding the GPU needs little CPU.
      const resources = mergeResources({ requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }, fleet, {
        [device.resourceName]: String(device.perPod),
      });
      const out: DeviceAccess = {
        resources,
        podSecurityContext: restrictedPod(),
        containerSecurityContext: restrictedContainer(),
        volumes: [],
        volumeMounts: [],
        // GPUs are scarce: a surge pod would wait for a GPU an old pod holds. Replace one at a time.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
        backend: { kind: 'gpu' },
      };
      // A RuntimeClass (e.g. "nvidia") selects the container runtime handler that injects the GPU
      // driver stack; only set when asked, so clusters with CDI/default runtimes need none.
      if (device.runtimeClassName) out.runtimeClassName = device.runtimeClassName;
      return out;
    }
    case 'usb': {
      const hostDevices = device.hostDevices ?? [];
      if (hostDevices.length === 0) throw new Error('spec.device.hostDevices must list at least one device path for usb fleets');
      // ASICs hash on the stick; the host process only frames work for it.
      const defaults = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } };
      if (device.resourceName) {
        // A device plugin advertises the sticks as an extended resource and, on allocation, adds
        // the device nodes (and their cgroup permission) to the container itself. So the pod
        // stays restricted: no hostPath, no privilege. The scheduler does the bookkeeping that
        // keeps two pods off one stick.
        return {
          resources: mergeResources(defaults, fleet, { [device.resourceName]: String(device.perPod) }),
          podSecurityContext: restrictedPod(),
          containerSecurityContext: restrictedContainer(),
          volumes: [],
          volumeMounts: [],
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
          backend: { kind: 'usb', devices: [...hostDevices] },
        };
      }
      // No device plugin: the devices come from the node as hostPath volumes of type CharDevice
      // (the kubelet refuses to start the pod if the path is missing or not a character device,
      // which turns a mis-labelled node into a clear pod event instead of a miner that finds no
      // stick). Mounting a device node is not enough to open it: the container's device cgroup
      // only allows the runtime's default devices, and Kubernetes has no field to add one. In
      // practice only `privileged: true` opens the cgroup, so this mode, and only this mode, sets
      // it. Everything else stays minimal: the process still runs as UID 65532 (a non-root UID
      // gets no capabilities from `privileged`), it reaches the tty through group dialout (20)
      // which owns serial devices on common distributions, no capabilities are added, no host
      // network/PID/IPC, read-only root filesystem, RuntimeDefault seccomp.
      const containerSecurityContext = restrictedContainer();
      containerSecurityContext.privileged = true;
      // The API server rejects privileged together with allowPrivilegeEscalation=false (privileged
      // implies it); leaving it unset is the honest value.
      delete containerSecurityContext.allowPrivilegeEscalation;
      const volumes: V1Volume[] = hostDevices.map((path, i) => ({ name: deviceVolumeName(i), hostPath: { path, type: 'CharDevice' } }));
      const volumeMounts: V1VolumeMount[] = hostDevices.map((path, i) => ({ name: deviceVolumeName(i), mountPath: path }));
      return {
        resources: mergeResources(defaults, fleet, {}),
        podSecurityContext: { ...restrictedPod(), supplementalGroups: [DIALOUT_GID] },
        containerSecurityContext,
        volumes,
        volumeMounts,
        // A device node opens for one process at a time: an old and a new pod on the same node
        // would fight over it. Recreate stops the old pods before new ones start.
        strategy: { type: 'Recreate' },
        // Every pod mounts the same paths, so two miner pods of this fleet on one node would share
        // one physical stick: at most one pod per node.
        requiredAntiAffinity: { labelSelector: { matchLabels: { ...podSelector } }, topologyKey: 'kubernetes.io/hostname' },
        backend: { kind: 'usb', devices: [...hostDevices] },
      };
    }
    case 'network': {
      if (!device.network) throw new Error('spec.device.network is required for network fleets (the ASICs to drive)');
      // The pod only runs the supervisor: it talks TCP to the devices and needs nothing of the node.
      return {
        resources: mergeResources({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } }, fleet, {}),
        podSecurityContext: restrictedPod(),
        containerSecurityContext: restrictedContainer(),
        volumes: [],
        volumeMounts: [],
        // Two supervisors on the same devices would undo each other's commands: the old pod stops
        // before the new one starts.
        strategy: { type: 'Recreate' },
      };
    }
    default: {
      const kind: never = device.kind;
      throw new Error(`spec.device.kind "${String(kind)}" is not supported (cpu, gpu, usb or network)`);
    }
  }
}
