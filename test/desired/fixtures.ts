import {
  API_VERSION,
  MinerFleetSpecSchema,
  MiningPoolSpecSchema,
  type MinerFleet,
  type MinerFleetSpecInput,
  type MiningPool,
  type MiningPoolSpecInput,
} from '../../operator/src/api/v1alpha1/index.js';
import type { DesiredInputs } from '../../operator/src/controllers/minerfleet/desired/index.js';

export const NS = 'farm';
export const FLEET_UID = '5f0c1f7e-0000-4000-8000-000000000001';

/** A MinerFleet as the reconciler hands it over: metadata complete, spec defaulted by the API schema. */
export function fleet(spec: Partial<MinerFleetSpecInput> = {}, name = 'rig', extra: Partial<MinerFleet> = {}): MinerFleet {
  return {
    apiVersion: API_VERSION,
    kind: 'MinerFleet',
    metadata: { name, namespace: NS, uid: FLEET_UID, generation: 3 },
    spec: MinerFleetSpecSchema.parse({ pools: [{ name: 'primary', priority: 0 }], ...spec }),
    ...extra,
  };
}

export function pool(name: string, spec: Partial<MiningPoolSpecInput> = {}): MiningPool {
  return {
    apiVersion: API_VERSION,
    kind: 'MiningPool',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1 },
    spec: MiningPoolSpecSchema.parse({
      url: `stratum+tcp://${name}.pool.example:3333`,
      coins: ['LTC'],
      credentialsSecretRef: { name: `${name}-login` },
      ...spec,
    }),
  };
}

export function inputs(f: MinerFleet, pools: MiningPool[], activePool = pools[0]!.metadata.name!, more: Partial<DesiredInputs> = {}): DesiredInputs {
  return { fleet: f, pools, activePool, operator: { minerImage: 'ghcr.io/example/minefleet:1.2.3' }, ...more };
}

export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
