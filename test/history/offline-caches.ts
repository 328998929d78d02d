import { KubeConfig } from '@kubernetes/client-node';
import type { FleetView } from '../../operator/src/collector/collector.js';
import { Pods, type MinerPod } from '../../operator/src/collector/pods.js';
import { MinerFleets } from '../../operator/src/controllers/minerfleet/controller.js';
import { Informer } from '../../operator/src/runtime/informer.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { freePort } from '../support/index.js';

/**
 * The collector's inputs without an API server: a client for a free loopback port nothing listens
 * on (its status writes fail for real and are retried) and pod and fleet informers that are never
 * started (the collector only reads their caches; a test fills them with `store.upsert`).
 */
export async function offlineCollectorCaches(): Promise<{ rest: KubeRest; pods: Informer<MinerPod>; fleets: Informer<FleetView> }> {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${await freePort()}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-real-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const rest = new KubeRest(kc);
  return { rest, pods: new Informer<MinerPod>(rest, kc, Pods), fleets: new Informer<FleetView>(rest, kc, MinerFleets) };
}
