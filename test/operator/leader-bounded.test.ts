// Bounded leadership on the real API server: the leader's API calls stall behind a TCP proxy
// (test/support/stall-proxy.ts); it must stop acting when its renew deadline passes (nothing of it
// reaches the server afterwards, even once the network heals) and the standby must act only after
// the lease expired.
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manager } from '../../operator/src/runtime/manager.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { sleep, startControlPlane, startStallProxy, type ControlPlane, type StallProxy } from '../support/index.js';
import { createNamespace } from './fixtures.js';
import { eventually, testLogger } from './helpers.js';

type Any = any;

const NS = 'bounded';
const LEASE = 'bounded-operator';
const leaseDurationMs = 4000;
const renewDeadlineMs = 3000;
const retryPeriodMs = 500;

let cp: ControlPlane;
let rest: KubeRest;
let proxy: StallProxy;
const managers: Manager[] = [];
const runs: Promise<unknown>[] = [];

function manager(identity: string, kubeConfig: KubeConfig): Manager {
  const m = new Manager({
    kubeConfig,
    logger: testLogger().child({ identity }),
    probePort: 0,
    metricsPort: 0,
    bindHost: '127.0.0.1',
    leaderHealthSlackMs: 500,
    leaderElection: { leaseName: LEASE, leaseNamespace: NS, identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs, releaseOnCancel: true },
  });
  managers.push(m);
  runs.push(m.start());
  return m;
}

/**
 * What a controller does: writes through the manager's leadership-bound client, here a counter in
 * its own ConfigMap, one write at a time. `acked` is the last value the server acknowledged.
 */
function writer(m: Manager, name: string) {
  const state = { acked: 0, ackedAt: 0, firstAt: 0, stop: false, done: Promise.resolve() };
  const path = `/api/v1/namespaces/${NS}/configmaps/${name}`;
  state.done = (async () => {
    let n = 0;
    while (!state.stop) {
      if (m.isLeader) {
        n++;
        try {
          await m.rest.apply(path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data: { n: String(n) } }, 'bounded-test', true);
          state.acked = n;
          state.ackedAt = Date.now();
          state.firstAt ||= state.ackedAt;
        } catch {
          /* refused or cancelled: leadership ended */
        }
      }
      await sleep(100);
    }
  })();
  return state;
}

beforeAll(async () => {
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await createNamespace(rest, NS);
  proxy = await startStallProxy(Number(new URL(cp.server).port));
}, 240_000);

afterAll(async () => {
  for (const m of managers) await m.stop().catch(() => undefined);
  await Promise.all(runs.map((r) => r.catch(() => undefined)));
  await proxy?.close();
  await cp?.stop();
});

describe('bounded leadership', () => {
  it('a stalled leader stops acting at its renew deadline and sends nothing after it; the standby acts only after the lease expired', async () => {
    const viaProxy = new KubeConfig();
    viaProxy.loadFromString(cp.kubeConfig.exportConfig());
    const cluster = viaProxy.getCurrentCluster()!;
    viaProxy.clusters = viaProxy.clusters.map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${proxy.port}` } : c));

    const a = manager('op-a', viaProxy);
    await eventually(() => a.isLeader, 'op-a leads', 60_000, 20);
    const b = manager('op-b', cp.kubeConfig);
    const wa = writer(a, 'written-by-a');
    const wb = writer(b, 'written-by-b');
    await eventually(() => wa.acked >= 3, 'op-a writes', 30_000, 20);
    expect(b.isLeader).toBe(false);
    const probeA = `http://127.0.0.1:${a.health.ports.probe}/healthz`;
    expect((await fetch(probeA)).status).toBe(200);
    // the watchdog behind /healthz: fine now, failing once renewDeadline + slack pass without a renewal
    const elector = a.leaderElector!;
    expect(elector.renewalHealthy(500)).toBe(true);
    expect(elector.renewalHealthy(500, Date.now() + renewDeadlineMs + 1000)).toMatch(
      /^leader lease not renewed for \d+ ms \(renew deadline 3000 ms \+ 500 ms slack\)$/,
    );

    let lostAt = 0;
    a.leadershipSignal.addEventListener('abort', () => (lostAt = Date.now()), { once: true });
    const leaseBefore = await rest.get<Any>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
    const stalledAt = Date.now();
    proxy.stall();

    // Watch the lease from outside: A's last renewal is the last record it holds.
    let lastA: Any = leaseBefore;
    const takeover = await eventually(
      async () => {
        const l = await rest.get<Any>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
        if (l.spec.holderIdentity === 'op-a') lastA = l;
        return l.spec.holderIdentity === 'op-b' ? l : undefined;
      },
      'op-b takes the lease',
      60_000,
      20,
    );
    await eventually(() => wb.firstAt > 0, 'op-b writes', 30_000, 20);
    expect(lostAt).toBeGreaterThan(0);
    // The old leader shut down when it stepped down (its process exits and restarts as a standby):
    // its probe port is closed, so a liveness probe fails too.
    await expect(fetch(probeA)).rejects.toThrow();

    // Heal the network: anything A still had in flight or kept sending would now reach the server.
    const ackedBeforeResume = wa.acked;
    proxy.resume();
    const forwardedAtResume = proxy.forwarded.bytes;
    await sleep(3000);
    wa.stop = wb.stop = true;
    await Promise.all([wa.done, wb.done]);

    const cmA = await rest.get<Any>(`/api/v1/namespaces/${NS}/configmaps/written-by-a`);
    const lease = await rest.get<Any>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
    const lastRenewA = Date.parse(lastA.spec.renewTime);
    const acquiredB = Date.parse(takeover.spec.acquireTime);
    const figures = {
      lastAckedWriteOfAms: wa.ackedAt - stalledAt,
      aStoppedActingMs: lostAt - stalledAt,
      lastRenewOfAms: lastRenewA - stalledAt,
      bAcquiredMs: acquiredB - stalledAt,
      bFirstWriteMs: wb.firstAt - stalledAt,
      bytesForwardedAfterResume: proxy.forwarded.bytes - forwardedAtResume,
    };
    console.log(`[leader-bounded] relative to the stall (ms): ${JSON.stringify(figures)}`);

    // A's server-side state is exactly its last acknowledged write: no held or later write landed.
    expect(wa.acked).toBe(ackedBeforeResume);
    expect(cmA.data.n).toBe(String(wa.acked));
    expect(Number(cmA.metadata.resourceVersion)).toBeLessThan(Number(takeover.metadata.resourceVersion));
    // A stopped acting before its lease could expire, and within its renew deadline of the last renewal cycle
    expect(lostAt).toBeLessThan(lastRenewA + leaseDurationMs);
    expect(wa.ackedAt).toBeLessThan(lostAt);
    // B took over only once A's last renewal had expired, and wrote only after that
    expect(acquiredB).toBeGreaterThanOrEqual(lastRenewA + leaseDurationMs);
    expect(wb.firstAt).toBeGreaterThanOrEqual(acquiredB);
    expect(lease.spec.holderIdentity).toBe('op-b');
    expect(lease.spec.leaseTransitions).toBe((leaseBefore.spec.leaseTransitions ?? 0) + 1);
  });
});
