import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containmentDropCounters, NODE_BRIDGE, PROJECT_IMAGE, SERVICE_CIDR } from '../support/index.js';
import { e2eCluster, ok } from './cluster.js';

// Outside targets are TEST-NET addresses (RFC 5737) that nothing on the machine owns; a
// contained node must fail to reach them at once (no route), so no packet is ever sent.
const OUTSIDE = ['198.51.100.1', '203.0.113.1'];
// An address in the Service CIDR that no Service has (the control plane allocates from .1 up).
const NO_SERVICE = '10.0.0.250';
const NS = 'e2e-containment';

/** Connects and reports how it ended; never waits for more than `timeoutMs`. */
const PROBE = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const t0 = process.hrtime.bigint();
const s = net.connect({ host, port: Number(port), timeout: 10000 });
const done = (r) => { console.log(JSON.stringify({ host, ...r, ms: Number(process.hrtime.bigint() - t0) / 1e6 })); s.destroy(); };
s.on('connect', () => done({ result: 'connected' }));
s.on('timeout', () => done({ result: 'timeout' }));
s.on('error', (e) => done({ result: e.code }));
`;

interface Probe {
  host: string;
  result: string;
  ms: number;
}

function connectFromHost(host: string, port: number): Promise<Probe> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const s = net.connect({ host, port, timeout: 10_000 });
    const done = (result: string): void => {
      s.destroy();
      resolve({ host, result, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    };
    s.on('connect', () => done('connected'));
    s.on('timeout', () => done('timeout'));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

describe('the node is contained', () => {
  const c = e2eCluster();
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    await c.kubectl(['create', 'namespace', NS]);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probe', namespace: NS },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'probe',
            image: PROJECT_IMAGE,
            imagePullPolicy: 'Never',
            command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    };
    await ok(c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) }));
    await ok(c.kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod/probe', '--timeout=180s']));
  });

  afterAll(async () => {
    process.stderr.write(`[e2e containment] ${JSON.stringify(figures)}\n`);
    await c.kubectl(['delete', 'namespace', NS, '--wait=false']);
  });

  const inPod = async (host: string, port: number): Promise<Probe> =>
    JSON.parse(await ok(c.kubectl(['-n', NS, 'exec', 'probe', '--', 'node', '-e', PROBE, host, String(port)]))) as Probe;

  it('a pod has no default route: only its subnet and the Service CIDR via the node', async () => {
    const routes = (
      await ok(c.kubectl(['-n', NS, 'exec', 'probe', '--', 'node', '-e', 'process.stdout.write(require("fs").readFileSync("/proc/net/route","utf8"))']))
    )
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/));
    // Destination 00000000 with mask 00000000 is a default route.
    expect(routes.filter((r) => r[1] === '00000000' && r[7] === '00000000')).toEqual([]);
    const hex = (ip: string): string => Buffer.from(ip.split('.').map(Number).reverse()).toString('hex').toUpperCase();
    expect(routes.map((r) => r[1])).toEqual(expect.arrayContaining([hex('10.0.0.0'), hex('10.250.0.0')]));
    expect(routes).toHaveLength(2);
  });

  it('from a pod: the API server answers through the kubernetes Service, outside addresses fail at once', async () => {
    const api = await inPod('10.0.0.1', 443);
    expect(api.result).toBe('connected');
    for (const host of OUTSIDE) {
      const probe = await inPod(host, 80);
      figures[`pod->${host}`] = probe;
      expect(probe.result).toBe('ENETUNREACH');
    }
  });

  it('from the host: a Service address without a Service is refused at once and routed only to the bridge', async () => {
    expect(execFileSync('ip', ['route', 'get', NO_SERVICE], { encoding: 'utf8' })).toContain(`dev ${NODE_BRIDGE}`);
    const probe = await connectFromHost(NO_SERVICE, 80);
    figures[`host->${NO_SERVICE}`] = probe;
    expect(probe.result).toBe('ECONNREFUSED');
    expect(SERVICE_CIDR).toBe('10.0.0.0/24');
  });

  it('forwarding is enabled on the bridge only, and the DROP rules saw no packet leave', async () => {
    const sysctl = (k: string): string => readFileSync(`/proc/sys/net/${k}`, 'utf8').trim();
    expect(sysctl('ipv4/ip_forward')).toBe('0');
    expect(sysctl('ipv4/conf/all/forwarding')).toBe('0');
    expect(sysctl('ipv6/conf/all/forwarding')).toBe('0');
    expect(sysctl(`ipv4/conf/${NODE_BRIDGE}/forwarding`)).toBe('1');
    const counters = await containmentDropCounters();
    figures.dropCounters = counters;
    // in from the bridge to elsewhere, in from elsewhere to the bridge, Service CIDR off the bridge
    expect(counters).toHaveLength(3);
    expect(counters.map((r) => r.packets)).toEqual([0, 0, 0]);
  });
});
