import net from 'node:net';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_IMAGE, waitFor } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { e2eCluster, installOperator, ok } from './cluster.js';

// The fleet's NetworkPolicy enforced for real: kube-router's firewall on the node (node.ts).
// One fleet starts opted out (spec.networkPolicy.enabled false) so that every blocked connection
// below is first shown to work; then the policy is switched on and the same probes are refused.
const NS = 'e2e-netpol';
const MON_NS = 'e2e-netpol-mon';
const OPERATOR_NS = 'e2e-netpol-op';
const FLEET = 'np';
const POOL = 'np-pool';
const METRICS_PORT = 9100;

/** One TCP connect (or HTTP GET when a path is given) from inside a pod; never waits more than the timeout. */
const PROBE = `
const net = require('node:net'); const http = require('node:http');
const [host, port, timeout, p] = process.argv.slice(1);
const t0 = Date.now();
const out = (r) => { console.log(JSON.stringify({ ...r, ms: Date.now() - t0 })); process.exit(0); };
if (p) {
  const req = http.get({ host, port: Number(port), path: p, timeout: Number(timeout) }, (res) => { res.resume(); out({ result: 'connected', status: res.statusCode }); });
  req.on('timeout', () => { req.destroy(); out({ result: 'timeout' }); });
  req.on('error', (e) => out({ result: e.code }));
} else {
  const s = net.connect({ host, port: Number(port), timeout: Number(timeout) });
  s.on('connect', () => { s.destroy(); out({ result: 'connected' }); });
  s.on('timeout', () => { s.destroy(); out({ result: 'timeout' }); });
  s.on('error', (e) => out({ result: e.code }));
}
`;

/** Connects every 100 ms until the result is (or is not) 'connected'; prints the wall clock of the change. */
const UNTIL = `
const net = require('node:net');
const [host, port, want, limit] = process.argv.slice(1);
const end = Date.now() + Number(limit);
const once = () => new Promise((res) => { const s = net.connect({ host, port: Number(port), timeout: 1000 });
  s.on('connect', () => { s.destroy(); res('connected'); }); s.on('timeout', () => { s.destroy(); res('timeout'); }); s.on('error', (e) => res(e.code)); });
(async () => { let tries = 0; for (;;) { const r = await once(); tries++;
  if ((want === 'connected') === (r === 'connected') || Date.now() > end) { console.log(JSON.stringify({ result: r, at: Date.now(), tries })); return; }
  await new Promise((x) => setTimeout(x, 100)); } })();
`;

interface Probe {
  result: string;
  status?: number;
  ms: number;
}

const probePod = (name: string, namespace: string, labels: Record<string, string>): object => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'probe',
        image: PROJECT_IMAGE,
        imagePullPolicy: 'Never',
        command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
        resources: { requests: { cpu: '10m', memory: '32Mi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      },
    ],
  },
});

describe('the fleet NetworkPolicy is enforced on the real node', () => {
  const c = e2eCluster();
  let pool: StratumPool;
  let forbidden: net.Server;
  let forbiddenPort = 0;
  let minerPod = '';
  let minerIp = '';
  let operatorPod = '';
  let operator: Awaited<ReturnType<typeof installOperator>> | undefined;
  const figures: Record<string, unknown> = {};

  const exec = async (ns: string, pod: string, container: string | undefined, script: string, args: (string | number)[]): Promise<string> =>
    ok(c.kubectl(['-n', ns, 'exec', pod, ...(container ? ['-c', container] : []), '--', 'node', '-e', script, ...args.map(String)]));
  const probe = async (ns: string, pod: string, container: string | undefined, host: string, port: number, httpPath?: string): Promise<Probe> =>
    JSON.parse(await exec(ns, pod, container, PROBE, [host, port, 3000, ...(httpPath ? [httpPath] : [])])) as Probe;
  const until = async (ns: string, pod: string, container: string | undefined, host: string, port: number, want: 'connected' | 'blocked') =>
    JSON.parse(await exec(ns, pod, container, UNTIL, [host, port, want, 90_000])) as { result: string; at: number; tries: number };
  const setPolicy = (enabled: boolean): Promise<string> =>
    ok(c.kubectl(['-n', NS, 'patch', 'mf', FLEET, '--type=merge', '-p', JSON.stringify({ spec: { networkPolicy: { enabled } } })]));
  const policyExists = async (): Promise<boolean> => (await c.kubectl(['-n', NS, 'get', 'networkpolicy', `${FLEET}-miner`])).code === 0;

  beforeAll(async () => {
    pool = await startStratumPool({ difficulty: 0.001, host: c.nodeIp });
    // A server on the node's address at a port that is no pool's: reachable unless a policy denies it.
    forbidden = net.createServer((s) => s.end());
    await new Promise<void>((resolve) => forbidden.listen(0, c.nodeIp, resolve));
    forbiddenPort = (forbidden.address() as net.AddressInfo).port;

    operator = await installOperator(c, { namespace: OPERATOR_NS });
    operatorPod = (
      await ok(c.kubectl(['-n', OPERATOR_NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=operator', '-o', 'jsonpath={.items[0].metadata.name}']))
    ).trim();

    await ok(c.kubectl(['create', 'namespace', NS]));
    await ok(c.kubectl(['create', 'namespace', MON_NS]));
    const docs = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'np-login', namespace: NS }, type: 'Opaque', stringData: { username: 'np-wallet', password: 'x' } },
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MiningPool',
        metadata: { name: POOL, namespace: NS },
        spec: { url: pool.url, coins: ['LTC'], credentialsSecretRef: { name: 'np-login' } },
      },
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: FLEET, namespace: NS },
        spec: {
          replicas: 1,
          device: { kind: 'cpu' },
          miner: { backend: 'cpu', threads: 1, resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '300m', memory: '256Mi' } } },
          pools: [{ name: POOL, priority: 0 }],
          networkPolicy: { enabled: false },
        },
      },
      probePod('outsider', NS, { app: 'outsider' }),
      probePod('prometheus', MON_NS, { 'app.kubernetes.io/name': 'prometheus' }),
    ];
    await ok(c.kubectl(['apply', '-f', '-'], { input: docs.map((d) => stringify(d)).join('---\n') }));
    await ok(c.kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod/outsider', '--timeout=180s']));
    await ok(c.kubectl(['-n', MON_NS, 'wait', '--for=condition=Ready', 'pod/prometheus', '--timeout=180s']));
    const ready = await waitFor(
      async () => {
        const pods = JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`, '-o', 'json']))) as {
          items: Array<{ metadata: { name: string }; status: { podIP?: string; conditions?: Array<{ type: string; status: string }> } }>;
        };
        return pods.items.find((p) => p.status.podIP && p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
      },
      { timeoutMs: 180_000, intervalMs: 500, description: 'a Ready miner pod' },
    );
    minerPod = ready.metadata.name;
    minerIp = ready.status.podIP!;
  });

  afterAll(async () => {
    process.stderr.write(`[e2e network-policy] ${JSON.stringify(figures)}\n`);
    await c.kubectl(['delete', 'namespace', NS, MON_NS, '--wait=false']);
    await operator?.uninstall();
    await pool?.stop();
    await new Promise((r) => forbidden?.close(r));
  });

  it('opted out: any pod reaches the metrics port and the miner reaches any port on the node', async () => {
    expect(await policyExists()).toBe(false);
    const outsider = await probe(NS, 'outsider', undefined, minerIp, METRICS_PORT);
    const minerOut = await probe(NS, minerPod, 'miner', c.nodeIp, forbiddenPort);
    figures.optedOut = { outsiderToMetrics: outsider, minerToForbiddenPort: minerOut };
    expect(outsider.result).toBe('connected');
    expect(minerOut.result).toBe('connected');
  });

  it('with the policy: an outside pod and a non-pool port are refused, Prometheus, the operator and the pool are not', async () => {
    const t0 = Date.now();
    // Both loops start before the policy exists and end at the first refused connection.
    const ingress = until(NS, 'outsider', undefined, minerIp, METRICS_PORT, 'blocked');
    const egress = until(NS, minerPod, 'miner', c.nodeIp, forbiddenPort, 'blocked');
    await new Promise((r) => setTimeout(r, 1500));
    const patchedAt = Date.now();
    await setPolicy(true);
    const seenAt = await waitFor(async () => ((await policyExists()) ? Date.now() : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: `NetworkPolicy ${FLEET}-miner`,
    });
    const [inRes, outRes] = await Promise.all([ingress, egress]);
    figures.enforcement = {
      patchToPolicyMs: seenAt - patchedAt,
      policyToIngressBlockedMs: inRes.at - seenAt,
      policyToEgressBlockedMs: outRes.at - seenAt,
      ingressBlocked: inRes,
      egressBlocked: outRes,
      totalMs: Date.now() - t0,
    };
    expect(inRes.result).not.toBe('connected');
    expect(['ECONNREFUSED', 'timeout']).toContain(inRes.result);
    expect(['ECONNREFUSED', 'timeout']).toContain(outRes.result);

    // Steady state, one probe each.
    const outsider = await probe(NS, 'outsider', undefined, minerIp, METRICS_PORT, '/metrics');
    const prometheus = await probe(MON_NS, 'prometheus', undefined, minerIp, METRICS_PORT, '/metrics');
    const operator = await probe(OPERATOR_NS, operatorPod, undefined, minerIp, METRICS_PORT, '/metrics');
    const minerToForbidden = await probe(NS, minerPod, 'miner', c.nodeIp, forbiddenPort);
    const minerToPool = await probe(NS, minerPod, 'miner', c.nodeIp, pool.port);
    // The forbidden port still answers a pod without egress policy: the miner's policy is what refuses.
    const outsiderToForbidden = await probe(NS, 'outsider', undefined, c.nodeIp, forbiddenPort);
    figures.withPolicy = { outsider, prometheus, operator, minerToForbidden, minerToPool, outsiderToForbidden };
    expect(['ECONNREFUSED', 'timeout']).toContain(outsider.result);
    expect(prometheus).toMatchObject({ result: 'connected', status: 200 });
    expect(operator).toMatchObject({ result: 'connected', status: 200 });
    expect(['ECONNREFUSED', 'timeout']).toContain(minerToForbidden.result);
    expect(minerToPool.result).toBe('connected');
    expect(outsiderToForbidden.result).toBe('connected');
  });

  it('opting out again removes the policy and the outside pod connects again', async () => {
    const back = until(NS, 'outsider', undefined, minerIp, METRICS_PORT, 'connected');
    const patchedAt = Date.now();
    await setPolicy(false);
    const r = await back;
    figures.optOutToConnectedMs = r.at - patchedAt;
    expect(r.result).toBe('connected');
    await waitFor(async () => ((await policyExists()) ? undefined : true), { timeoutMs: 60_000, intervalMs: 200, description: 'the NetworkPolicy deleted' });
  });
});
