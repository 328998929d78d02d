import type { MinerFleet, MiningPool } from '../../api/v1alpha1/index.js';

/** Index of fleets by the pools they reference: value `namespace/pool`. */
export const FLEETS_BY_POOL = 'pool';
export function fleetPoolKeys(fleet: MinerFleet): string[] {
  const ns = fleet.metadata.namespace ?? '';
  return (fleet.spec?.pools ?? []).map((p) => `${ns}/${p.name}`);
}

/** Index of pools by the Secrets they reference (credentials and TLS CA): value `namespace/secret`. */
export const POOLS_BY_SECRET = 'secret';
export function poolSecretKeys(pool: MiningPool): string[] {
  const ns = pool.metadata.namespace ?? '';
  const names = new Set<string>();
  if (pool.spec?.credentialsSecretRef?.name) names.add(pool.spec.credentialsSecretRef.name);
  if (pool.spec?.tls?.caSecretRef?.name) names.add(pool.spec.tls.caSecretRef.name);
  return [...names].map((n) => `${ns}/${n}`);
}

/** Index of network fleets by the ConfigMap their targets come from (targetsFrom): value `namespace/configmap`. */
export const FLEETS_BY_TARGETS_CONFIGMAP = 'targetsConfigMap';
export function fleetTargetsConfigMapKeys(fleet: MinerFleet): string[] {
  const name = fleet.spec?.device?.network?.targetsFrom?.configMapRef?.name;
  return name ? [`${fleet.metadata.namespace ?? ''}/${name}`] : [];
}
