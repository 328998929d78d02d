import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, MINER_FLEET_KIND, type MinerFleet } from '../../../api/v1alpha1/index.js';
import { labelValue } from './names.js';

export const APP_NAME = 'minefleet-miner';
export const MANAGED_BY = 'minefleet';
export const FLEET_LABEL = 'minefleet.io/fleet';

function fleetName(fleet: MinerFleet): string {
  const name = fleet.metadata.name;
  if (!name) throw new Error('desired state: MinerFleet has no metadata.name');
  return name;
}

/**
 * The labels that select a fleet's miner pods (Deployment selector, Service selector,
 * status.selector for the scale subresource). Deliberately only the two that identify the fleet:
 * a Deployment's selector is immutable, so it must never grow with later label additions.
 */
export function fleetLabels(fleet: MinerFleet): Record<string, string> {
  return {
    'app.kubernetes.io/name': APP_NAME,
    'app.kubernetes.io/instance': labelValue(fleetName(fleet)),
  };
}

/** `k=v,k2=v2` (sorted by key) for status.selector. */
export function fleetSelector(fleet: MinerFleet): string {
  return Object.entries(fleetLabels(fleet))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Labels on every owned object and on the pods. */
export function objectLabels(fleet: MinerFleet): Record<string, string> {
  return {
    ...fleetLabels(fleet),
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [FLEET_LABEL]: labelValue(fleetName(fleet)),
  };
}

/** Controller owner reference: the garbage collector deletes what a deleted fleet owned. */
export function ownerReference(fleet: MinerFleet): V1OwnerReference {
  const uid = fleet.metadata.uid;
  if (!uid) throw new Error(`desired state: MinerFleet ${fleet.metadata.namespace}/${fleetName(fleet)} has no metadata.uid (owner references need it)`);
  return {
    apiVersion: API_VERSION,
    kind: MINER_FLEET_KIND,
    name: fleetName(fleet),
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function fleetNamespace(fleet: MinerFleet): string {
  const ns = fleet.metadata.namespace;
  if (!ns) throw new Error(`desired state: MinerFleet ${fleetName(fleet)} has no metadata.namespace`);
  return ns;
}

/** metadata of an owned object: name, the fleet's namespace, labels, owner reference. */
export function ownedMeta(fleet: MinerFleet, name: string, annotations?: Record<string, string>): V1ObjectMeta {
  const meta: V1ObjectMeta = {
    name,
    namespace: fleetNamespace(fleet),
    labels: objectLabels(fleet),
    ownerReferences: [ownerReference(fleet)],
  };
  if (annotations) meta.annotations = annotations;
  return meta;
}

export { fleetName };
