import type { V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { MinerFleet } from '../../../api/v1alpha1/index.js';
import { fleetNamespace, ownedMeta } from './metadata.js';
import type { FleetNames } from './names.js';

/** The identity of the fleet's miner pods. */
export function minerServiceAccount(fleet: MinerFleet, names: FleetNames): V1ServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: ownedMeta(fleet, names.serviceAccount) };
}

/**
 * Exactly what a miner needs: read and watch its own runtime ConfigMap (the live channel), by
 * name. The miner lists/watches with fieldSelector metadata.name=<fleet>-runtime, which the
 * authorizer matches against resourceNames; no other object is readable, not even the fleet's
 * other ConfigMap (it arrives as a volume) or any Secret (they arrive through the kubelet).
 */
export function minerRole(fleet: MinerFleet, names: FleetNames): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: ownedMeta(fleet, names.role),
    rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [names.runtimeConfigMap], verbs: ['get', 'list', 'watch'] }],
  };
}

export function minerRoleBinding(fleet: MinerFleet, names: FleetNames): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: ownedMeta(fleet, names.roleBinding),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.role },
    subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace: fleetNamespace(fleet) }],
  };
}
