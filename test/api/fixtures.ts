/** Valid objects the bad-input table mutates, and helpers shared by the api tests. */
import { API_VERSION } from '../../operator/src/api/v1alpha1/index.js';

export type Obj = Record<string, any>;

export function validPool(name = 'pool-a'): Obj {
  return {
    apiVersion: API_VERSION,
    kind: 'MiningPool',
    metadata: { name },
    spec: {
      url: 'stratum+ssl://pool.example.com:3443',
      coins: ['LTC', 'DOGE'],
      credentialsSecretRef: { name: 'pool-creds' },
      tls: { caSecretRef: { name: 'pool-ca' }, serverName: 'pool.example.com' },
    },
  };
}

export function validFleet(name = 'fleet-a'): Obj {
  return {
    apiVersion: API_VERSION,
    kind: 'MinerFleet',
    metadata: { name },
    spec: {
      replicas: 2,
      device: { kind: 'cpu' },
      miner: { backend: 'cpu', threads: 2, resources: { requests: { cpu: '1', memory: '64Mi' } } },
      pools: [
        { name: 'pool-a', priority: 0 },
        { name: 'pool-b', priority: 1 },
      ],
      economics: {
        power: { wattsPerMiner: 50 },
        electricityPrice: { perKWh: 0.1 },
        feeds: {
          LTC: {
            price: { http: { url: 'https://prices.example.com/ltc', fieldPath: 'data[0].price' } },
            difficulty: { litecoind: { url: 'http://litecoind:9332', credentialsSecretRef: { name: 'rpc' } } },
            blockReward: { value: 6.25 },
          },
        },
      },
      placement: { tolerations: [{ key: 'mining', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }] },
      history: { retentionDays: 7 },
    },
  };
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
