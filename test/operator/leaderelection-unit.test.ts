import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElector, type LeaderElectionConfig } from '../../operator/src/runtime/leaderelection.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { startControlPlane, type ControlPlane } from '../support/index.js';
import { createNamespace } from './fixtures.js';
import { eventually, testLogger } from './helpers.js';

let cp: ControlPlane;
let rest: KubeRest;
const NS = 'le';

beforeAll(async () => {
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await createNamespace(rest, NS);
});
afterAll(async () => {
  await cp?.stop();
});

const cfg = (identity: string, leaseName: string, releaseOnCancel = true): LeaderElectionConfig => ({
  leaseName,
  leaseNamespace: NS,
  identity,
  leaseDurationMs: 3000,
  renewDeadlineMs: 2000,
  retryPeriodMs: 500,
  releaseOnCancel,
});

describe('LeaderElector (coordination.k8s.io/v1 Lease)', () => {
  it('rejects inconsistent timings', () => {
    expect(() => new LeaderElector(rest, { ...cfg('x', 'bad'), renewDeadlineMs: 3000 })).toThrow(/must be greater than renew deadline/);
  });

  it('one leader at a time; release on stop hands over at once', async () => {
    const a = new LeaderElector(rest, cfg('a', 'release'), testLogger());
    const b = new LeaderElector(rest, cfg('b', 'release'), testLogger());
    expect(await a.acquire()).toBe(true);
    const aHold = a.holdLeadership();
    let bLeads = false;
    const bAcq = b.acquire().then((v) => (bLeads = v));
    // b must stay standby while a renews (several lease durations)
    await new Promise((r) => setTimeout(r, 4000));
    expect(bLeads).toBe(false);
    const lease = await rest.get<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/release`,
    );
    expect(lease.spec.holderIdentity).toBe('a');
    const t0 = Date.now();
    await a.stop();
    expect(await aHold).toBe('stopped');
    await bAcq;
    expect(bLeads).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500); // released: no need to wait for expiry
    const after = await rest.get<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/release`,
    );
    expect(after.spec.holderIdentity).toBe('b');
    await b.stop();
  });

  it('a vanished leader (no release) is replaced after the lease duration', async () => {
    const a = new LeaderElector(rest, cfg('a', 'expire', false), testLogger());
    const b = new LeaderElector(rest, cfg('b', 'expire'), testLogger());
    expect(await a.acquire()).toBe(true);
    await a.stop(); // stops renewing without releasing, like a crashed process
    const t0 = Date.now();
    expect(await b.acquire()).toBe(true);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(2500);
    expect(waited).toBeLessThan(3000 + 5000);
    const lease = await eventually(
      () => rest.get<{ spec: { holderIdentity: string; leaseTransitions: number } }>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/expire`),
      'lease',
    );
    expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.stop();
  });
});
