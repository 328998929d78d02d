import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound, KubeRest } from '../../operator/src/runtime/rest.js';
import { startControlPlane, type ControlPlane, REPO_ROOT, freePort, makeTempDir, spawnProcess, type ManagedProcess } from '../support/index.js';
import { createNamespace, fleet, pool, secret } from './fixtures.js';
import { eventually } from './helpers.js';

type Any = any;

const NS = 'ha';
const G = '/apis/minefleet.io/v1alpha1';
const LEASE_SECONDS = 5;
const MAIN = process.env.MINEFLEET_OPERATOR_MAIN ?? path.join(REPO_ROOT, 'dist/operator/src/main.js');

let cp: ControlPlane;
let rest: KubeRest;
let dir: string;
const ops: Record<string, { proc: ManagedProcess; metricsPort: number; probePort: number }> = {};

async function startOperator(identity: string): Promise<void> {
  const [metricsPort, probePort] = await Promise.all([freePort(), freePort()]);
  const proc = spawnProcess({
    name: `operator-${identity}`,
    command: process.execPath,
    args: [
      MAIN,
      `--identity=${identity}`,
      `--lease-namespace=${NS}`,
      '--lease-name=minefleet-operator',
      `--lease-duration=${LEASE_SECONDS}`,
      '--renew-deadline=3',
      '--retry-period=1',
      `--metrics-port=${metricsPort}`,
      `--probe-port=${probePort}`,
      '--bind-address=127.0.0.1',
      '--miner-image=minefleet:ha',
      '--log-level=debug',
    ],
    env: { ...process.env, KUBECONFIG: cp.kubeconfigPath },
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
  const r = await cp.kubectl(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
  expect(r.code, r.stderr).toBe(0);
  expect(
    (await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/minerfleets.minefleet.io', 'crd/miningpools.minefleet.io'])).code,
  ).toBe(0);
  await createNamespace(rest, NS);
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, secret(NS, 'creds'));
  await rest.create(`${G}/namespaces/${NS}/miningpools`, pool(NS, 'primary', 'creds'));
}, 240_000);

afterAll(async () => {
  await Promise.all(Object.values(ops).map((o) => o.proc.stop()));
  await cp?.stop();
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
});
