import { KubeConfig } from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeLeaseClient, LeaderElector, type LeaderElectionConfig } from '../../operator/src/runtime/leaderelection.js';
import { isNotFound, KubeRest } from '../../operator/src/runtime/rest.js';
import {
  installCrds,
  startControlPlane,
  startStallProxy,
  type ControlPlane,
  freePort,
  makeTempDir,
  spawnProcess,
  type ManagedProcess,
  type StallProxy,
} from '../support/index.js';
import { OPERATOR_MAIN } from '../support/fleetRig.js';
import { createNamespace, fleet, pool, secret } from './fixtures.js';
import { eventually, testLogger } from './helpers.js';

type Any = any;

const NS = 'ha';
const G = '/apis/minefleet.io/v1alpha1';
const LEASE_SECONDS = 5;

let cp: ControlPlane;
let rest: KubeRest;
let dir: string;
let proxy: StallProxy;
const ops: Record<string, { proc: ManagedProcess; metricsPort: number; probePort: number }> = {};

/** The admin kubeconfig, but talking to the API server through the stall proxy. */
function viaProxy(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(cp.kubeConfig.exportConfig());
  const cluster = kc.getCurrentCluster()!;
  kc.clusters = kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${proxy.port}` } : c));
  return kc;
}

async function startOperator(identity: string, opts: { kubeconfigPath?: string; leaseName?: string } = {}): Promise<void> {
  const [metricsPort, probePort] = await Promise.all([freePort(), freePort()]);
  const proc = spawnProcess({
    name: `operator-${identity}`,
    command: process.execPath,
    args: [
      OPERATOR_MAIN,
      `--identity=${identity}`,
      `--lease-namespace=${NS}`,
      `--lease-name=${opts.leaseName ?? 'minefleet-operator'}`,
      `--lease-duration=${LEASE_SECONDS}`,
      '--renew-deadline=3',
      '--retry-period=1',
      `--metrics-port=${metricsPort}`,
      `--probe-port=${probePort}`,
      '--bind-address=127.0.0.1',
      '--miner-image=minefleet:ha',
      '--log-level=debug',
    ],
    env: { ...process.env, KUBECONFIG: opts.kubeconfigPath ?? cp.kubeconfigPath },
    logFile: path.join(dir, `${identity}.log`),
  });
  ops[identity] = { proc, metricsPort, probePort };
}

const holder = async (): Promise<string | undefined> => {
  try {
    return (await rest.get<Any>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/minefleet-operator`)).spec?.holderIdentity;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const holderOf = async (lease: string): Promise<string | undefined> => {
  try {
    return (await rest.get<Any>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${lease}`)).spec?.holderIdentity;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const metric = async (identity: string, name: string): Promise<number | undefined> => {
  const text = await (await fetch(`http://127.0.0.1:${ops[identity]!.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : undefined;
};
const logOf = (identity: string) => readFileSync(path.join(dir, `${identity}.log`), 'utf8');
const deploymentExists = async (name: string) => {
  try {
    await rest.get(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
};

beforeAll(async () => {
  dir = makeTempDir('operator-ha');
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
  await createNamespace(rest, NS);
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  await rest.create(`${G}/namespaces/${NS}/miningpools`, pool(NS, 'primary', 'creds'));
  proxy = await startStallProxy(Number(new URL(cp.server).port));
}, 240_000);

afterAll(async () => {
  await Promise.all(Object.values(ops).map((o) => o.proc.stop()));
  await proxy?.close();
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
const leaseOf = (name: string) =>
  rest.get<{ spec: { holderIdentity: string; leaseTransitions: number } }>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${name}`);
const electorOn = (r: KubeRest, c: LeaderElectionConfig) => new LeaderElector(kubeLeaseClient(r, c.leaseNamespace, c.leaseName), c, testLogger());

describe('LeaderElector on kube-apiserver (coordination.k8s.io/v1 Lease)', () => {
  it('one leader at a time; release on stop hands over at once', async () => {
    const a = electorOn(rest, cfg('a', 'release'));
    const b = electorOn(rest, cfg('b', 'release'));
    expect(await a.acquire()).toBe(true);
    const aHold = a.holdLeadership();
    let bLeads = false;
    const bAcq = b.acquire().then((v) => (bLeads = v));
    // b must stay standby while a renews (several lease durations)
    await new Promise((r) => setTimeout(r, 4000));
    expect(bLeads).toBe(false);
    expect((await leaseOf('release')).spec.holderIdentity).toBe('a');
    const t0 = Date.now();
    await a.stop();
    expect(await aHold).toBe('stopped');
    await bAcq;
    expect(bLeads).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500); // released: no need to wait for expiry
    expect((await leaseOf('release')).spec.holderIdentity).toBe('b');
    await b.stop();
  });

  it('a vanished leader (no release) is replaced after the lease duration', async () => {
    const a = electorOn(rest, cfg('a', 'expire', false));
    const b = electorOn(rest, cfg('b', 'expire'));
    expect(await a.acquire()).toBe(true);
    await a.stop(); // stops renewing without releasing, like a crashed process
    const t0 = Date.now();
    expect(await b.acquire()).toBe(true);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(2500);
    expect(waited).toBeLessThan(3000 + 5000);
    expect((await leaseOf('expire')).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.stop();
  });

  it('release on shutdown against a stalled API server gives up at the renew deadline (not the 30 s request timeout)', async () => {
    const c = cfg('stuck', 'stalled-release');
    const a = electorOn(new KubeRest(viaProxy()), c);
    expect(await a.acquire()).toBe(true);
    proxy.stall();
    try {
      const t0 = Date.now();
      const released = await a.stop();
      const took = Date.now() - t0;
      console.log(`[leader-election] release against a stalled API server returned after ${took} ms (renew deadline ${c.renewDeadlineMs} ms)`);
      expect(released).toBe(false);
      expect(took).toBeGreaterThanOrEqual(c.renewDeadlineMs - 50);
      expect(took).toBeLessThan(c.renewDeadlineMs + 1000);
      expect(a.isLeader).toBe(false);
    } finally {
      proxy.resume();
    }
    // Not released: the Lease is still ours and expires as after a crash.
    expect((await leaseOf('stalled-release')).spec.holderIdentity).toBe('stuck');
  });
});

describe('two operator instances with Lease leader election', () => {
  it('only the leader reconciles; SIGKILL of the leader hands over within lease duration + 5 s; SIGTERM releases the lease', async () => {
    await startOperator('op-a');
    await eventually(async () => (await holder()) === 'op-a', 'op-a to take the lease', 60_000);
    await startOperator('op-b');
    await eventually(async () => (await fetch(`http://127.0.0.1:${ops['op-b']!.probePort}/readyz`)).status === 200, 'op-b ready (caches synced)', 60_000);
    expect(await metric('op-a', 'leader_election_master_status')).toBe(1);
    expect(await metric('op-b', 'leader_election_master_status')).toBe(0);

    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, 'one', 'cpu', [{ name: 'primary', priority: 0 }]));
    await eventually(() => deploymentExists('one'), 'leader creates the deployment', 60_000);
    // the standby keeps its hands off: it never reconciled anything
    expect(await metric('op-b', 'controller_runtime_reconcile_total')).toBeUndefined();
    expect(logOf('op-b')).not.toContain('owned object');
    expect(logOf('op-a')).toContain('owned object');

    const killedAt = Date.now();
    process.kill(ops['op-a']!.proc.pid, 'SIGKILL');
    await eventually(async () => (await holder()) === 'op-b', 'op-b to take over the lease', (LEASE_SECONDS + 5) * 1000, 100);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual((LEASE_SECONDS + 5) * 1000);
    expect(await metric('op-b', 'leader_election_master_status')).toBe(1);
    // and it acts: a new fleet is reconciled by op-b
    await rest.create(`${G}/namespaces/${NS}/minerfleets`, fleet(NS, 'two', 'cpu', [{ name: 'primary', priority: 0 }]));
    await eventually(() => deploymentExists('two'), 'new leader reconciles', 30_000);
    expect(logOf('op-b')).toContain('owned object');
    console.log(`leader handover after SIGKILL took ${takeoverMs} ms (lease ${LEASE_SECONDS} s)`);

    // graceful shutdown releases the lease at once
    await ops['op-b']!.proc.stop(20_000);
    expect(ops['op-b']!.proc.exitStatus?.code).toBe(0);
    expect(await holder()).toBe('');
    expect(logOf('op-b')).toContain('released leader lease');
  });

  it('a leader that lost its lease refuses probes at once and exits 1 (the kubelet starts a fresh standby)', async () => {
    const kubeconfigPath = path.join(dir, 'via-proxy.kubeconfig');
    writeFileSync(kubeconfigPath, viaProxy().exportConfig(), { mode: 0o600 });
    await startOperator('op-lost', { kubeconfigPath, leaseName: 'lost-lease' });
    const op = ops['op-lost']!;
    const healthz = `http://127.0.0.1:${op.probePort}/healthz`;
    await eventually(async () => (await holderOf('lost-lease')) === 'op-lost', 'op-lost to take its lease', 60_000);
    await eventually(async () => (await fetch(healthz)).status === 200, 'op-lost healthy', 30_000);

    const stalledAt = Date.now();
    proxy.stall();
    try {
      // Poll /healthz as a kubelet would, recording every answer until the port refuses.
      const answers: Array<{ at: number; status: number | 'refused'; body?: string }> = [];
      await eventually(
        async () => {
          try {
            const r = await fetch(healthz, { signal: AbortSignal.timeout(1000) });
            answers.push({ at: Date.now() - stalledAt, status: r.status, body: r.status === 200 ? undefined : await r.text() });
            return false;
          } catch {
            answers.push({ at: Date.now() - stalledAt, status: 'refused' });
            return true;
          }
        },
        'op-lost to refuse probes',
        30_000,
        50,
      );
      const exit = await Promise.race([op.proc.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
      const exitedAfterMs = Date.now() - stalledAt;
      const failing = answers.filter((a) => a.status !== 200 && a.status !== 'refused');
      console.log(
        `[leader-election] lost lease: probes refused ${answers.at(-1)!.at} ms after the stall (${failing.length} failing answers before), process exited ${exitedAfterMs} ms after the stall with ${JSON.stringify(exit)}`,
      );
      expect(exit, `operator still running:\n${op.proc.tail(20)}`).toEqual({ code: 1, signal: null });
      // Lost at the renew deadline (3 s) of a cycle starting a retry period (1 s) after the last
      // renewal; refused then, not after answering failures for a while.
      expect(answers.at(-1)!.at).toBeLessThan(3000 + 1000 * 1.2 + 1000);
      expect(failing).toEqual([]);
      const log = logOf('op-lost');
      expect(log).toContain('failed to renew leader lease within the renew deadline');
      expect(log).toContain('leader lease lost; exiting');
      await expect(fetch(healthz)).rejects.toThrow();
    } finally {
      proxy.resume();
    }
  });
});
