/**
 * External miners (DESIGN §8): what `miner supervise` drives for a fleet. A network fleet's
 * supervisor pod drives the ASICs listed in spec.device.network; a gpu/usb fleet with
 * spec.miner.external runs the external miner (cgminer, bfgminer, sgminer) in the pod and the
 * supervisor as a sidecar that reaches its API on 127.0.0.1. Pure functions of the fleet.
 */
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { ExternalConfigInput } from '#miner/config';
import type { MinerFleet, NetworkTarget } from '../../../api/v1alpha1/index.js';
import { CONFIG_PATH } from './miner-config.js';

export const SUPERVISOR_CONTAINER_NAME = 'supervisor';
/** `miner supervise` inside our image, on the same config file as `miner run`. */
export const SUPERVISOR_COMMAND = ['node', 'dist/miner/src/main.js', 'supervise', '--config', CONFIG_PATH];
/** The sidecar reaches the external miner's API over the pod's loopback. */
export const SIDECAR_DEVICE_HOST = '127.0.0.1';

/**
 * The sidecar only polls one local API and exports metrics: a small fixed budget, so
 * spec.miner.resources stays what the external miner (the container that hashes) gets.
 */
export const SIDECAR_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '50m', memory: '96Mi' },
  limits: { cpu: '250m', memory: '192Mi' },
};

/** How a fleet's pods are made up. */
export type PodLayout =
  /** Our miner hashes (cpu, and gpu/usb without spec.miner.external). */
  | 'miner'
  /** The external miner plus our supervisor as a sidecar (gpu/usb with spec.miner.external). */
  | 'sidecar'
  /** Only our supervisor; the ASICs are on the network (device.kind network). */
  | 'supervisor';

export function podLayout(fleet: MinerFleet): PodLayout {
  if (fleet.spec.device.kind === 'network') return 'supervisor';
  if (fleet.spec.miner.external) return 'sidecar';
  return 'miner';
}

/**
 * A network fleet's targets: inline, else `resolved` (read by the controller from the
 * targetsFrom ConfigMap, or the last good list); empty when neither is known.
 */
export function networkTargets(fleet: MinerFleet, resolved?: NetworkTarget[]): NetworkTarget[] {
  return fleet.spec.device.network?.targets ?? resolved ?? [];
}

/**
 * Supervisor pods a network fleet runs: none while spec.replicas is 0 (off) or no target is
 * known, else enough that none drives more than targetsPerPod devices.
 */
export function supervisorPods(replicas: number, targets: number, perPod: number): number {
  if (replicas === 0 || targets === 0) return 0;
  return Math.ceil(targets / Math.max(1, perPod));
}

/** The `external` section of the supervisor's config, or undefined when the fleet has none (or no target is known). */
export function supervisedDevices(fleet: MinerFleet, resolved?: NetworkTarget[]): ExternalConfigInput | undefined {
  const net = fleet.spec.device.network;
  if (fleet.spec.device.kind === 'network' && net) {
    const targets = networkTargets(fleet, resolved);
    if (targets.length === 0) return undefined;
    return {
      devices: targets.map((t) => ({ name: t.name, host: t.host, port: t.port, ...(t.model ? { model: t.model } : {}) })),
      pollIntervalSeconds: net.pollIntervalSeconds,
      requestTimeoutMs: net.requestTimeoutMs,
    };
  }
  const ext = fleet.spec.miner.external;
  if (!ext) return undefined;
  // One device per pod, named after its kind: the worker name becomes <user>.<fleet>.<pod>.<kind>.
  return { devices: [{ name: fleet.spec.device.kind, host: SIDECAR_DEVICE_HOST, port: ext.apiPort, ...(ext.model ? { model: ext.model } : {}) }] };
}

/**
 * status.devices: the devices the fleet's supervisors drive, together (undefined for our own
 * miners). Network fleets: every target, however many pods share them; `resolved` is the list
 * rendered from targetsFrom.
 */
export function supervisedDeviceCount(fleet: MinerFleet, runningPods: number, resolved?: NetworkTarget[]): number | undefined {
  switch (podLayout(fleet)) {
    case 'supervisor':
      return networkTargets(fleet, resolved).length;
    case 'sidecar':
      return runningPods;
    default:
      return undefined;
  }
}

/**
 * Whether the live channel tells the supervisor to disable its devices. Only network fleets: a
 * networked ASIC keeps hashing whatever happens to pods, so pausing (by hand or for economics)
 * must reach the device itself; every other layout stops by scaling its pods to 0.
 */
export function suspendDevices(fleet: MinerFleet, suspended: boolean): boolean {
  return podLayout(fleet) === 'supervisor' && (fleet.spec.paused || suspended);
}
