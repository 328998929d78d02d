import type { V1Service } from '@kubernetes/client-node';
import type { MinerFleet } from '../../../api/v1alpha1/index.js';
import { fleetLabels, ownedMeta } from './metadata.js';
import type { FleetNames } from './names.js';
import { METRICS_PORT_NAME } from './workload.js';

/**
 * The metrics Service. Headless (clusterIP: None): Prometheus scrapes every miner pod, never a
 * load-balanced address, and a headless Service allocates no cluster IP, so a farm of thousands
 * of fleets does not exhaust the Service CIDR (a /24 holds 254 addresses).
 */
export function metricsService(fleet: MinerFleet, names: FleetNames, metricsPort: number): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(fleet, names.service),
    spec: {
      clusterIP: 'None',
      selector: fleetLabels(fleet),
      ports: [{ name: METRICS_PORT_NAME, port: metricsPort, targetPort: METRICS_PORT_NAME, protocol: 'TCP' }],
    },
  };
}
