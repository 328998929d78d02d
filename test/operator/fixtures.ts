import type { KubeRest } from '../../operator/src/runtime/rest.js';

export const SECRET_PASSWORD = 'top-secret-pool-password-6f1c';

export async function createNamespace(rest: KubeRest, name: string): Promise<void> {
  await rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export function secret(ns: string, name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    type: 'Opaque',
    stringData: { username: 'wallet-abc', password: SECRET_PASSWORD },
  };
}

export function pool(ns: string, name: string, secretName: string, port = 3333) {
  return {
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MiningPool',
    metadata: { name, namespace: ns },
    spec: { url: `stratum+tcp://127.0.0.1:${port}`, coins: ['LTC'], credentialsSecretRef: { name: secretName } },
  };
}

export type DeviceKind = 'cpu' | 'gpu' | 'usb';

export function fleet(ns: string, name: string, kind: DeviceKind, pools: Array<{ name: string; priority: number }>, replicas = 1) {
  const device =
    kind === 'cpu'
      ? { kind }
      : kind === 'gpu'
        ? { kind, resourceName: 'nvidia.com/gpu', perPod: 2, runtimeClassName: 'nvidia' }
        : { kind, hostDevices: ['/dev/ttyACM0', '/dev/ttyACM1'] };
  return {
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MinerFleet',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      device,
      miner: { backend: kind, ...(kind === 'cpu' ? { threads: 1 } : {}) },
      pools,
      ...(kind === 'usb' ? { placement: { nodeSelector: { 'minefleet.io/usb-asic': 'true' } } } : {}),
    },
  };
}
