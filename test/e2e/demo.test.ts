/**
 * The README's demo must keep working on the real node. The machine has one node, which the e2e
 * tier's globalSetup owns, so the demo runs attached to it (--attach: everything after the
 * cluster start, which is the same harness code as globalSetup.ts): helm install, the samples
 * against litecoind-fed pools, Prometheus discovering the pods, the history store, and blocks
 * that litecoind accepts from the miner pods; and the network fleet sample (asic-rack) driving
 * emulated ASICs on the node's bridge address: its supervisor pod Ready, every device on the demo
 * pool with shares that pool accepted, and the supervisor's per-device metrics in Prometheus.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runTool } from '../support/index.js';
import { sampleNetworkTargets } from '../support/samples.js';
import { e2eCluster } from './cluster.js';

const NETWORK_FLEET = 'asic-rack';
const DEMO_POOL = 'merged-ltc-doge';

/** The columns of `name`'s row in the last kubectl table of `out` that has it, read at the header's offsets (kubectl pads the columns). */
function kubectlRow(out: string, name: string): Record<string, string> | undefined {
  const lines = out.split('\n');
  let i = lines.length - 1;
  while (i >= 0 && !lines[i]!.startsWith(`${name} `)) i--;
  let h = i;
  while (h >= 0 && !lines[h]!.startsWith('NAME ')) h--;
  if (i < 0 || h < 0) return undefined;
  const cols = [...lines[h]!.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  return Object.fromEntries(cols.map((col, k) => [col.name, lines[i]!.slice(col.at, cols[k + 1]?.at).trim()]));
}

describe('local demo on the real node', () => {
  const c = e2eCluster();
  const devices = sampleNetworkTargets(NETWORK_FLEET).map((t) => t.name);

  it('installs the chart, applies the samples and shows Ready miners, Prometheus, history, accepted blocks and the emulated ASICs mining', async () => {
    const tsx = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
    const r = await runTool(tsx, [path.join(REPO_ROOT, 'scripts/demo.ts'), '--attach', c.kubeconfigPath, '--node-ip', c.nodeIp, '--seconds', '30'], {
      cwd: REPO_ROOT,
      timeoutMs: 570_000,
    });
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/2 miner pods Running and Ready/);
    // kubectl get mf,mp,pods: the sample fleet and both sample pools, and Running miner pods.
    expect(out).toMatch(/minerfleet\.minefleet\.io\/cpu-fleet/);
    expect(out).toMatch(/miningpool\.minefleet\.io\/merged-ltc-doge/);
    expect(out).toMatch(/miningpool\.minefleet\.io\/ltc-tls/);
    expect(out).toMatch(/pod\/cpu-fleet-\S+\s+1\/1\s+Running/);
    expect(out).toMatch(/litecoind accepted a block found by a miner pod/);
    const last = [...out.matchAll(/Prometheus: (\d+) pods up, miners (\d+) H\/s .* (\d+) blocks accepted from the miner pods \| history store: (.*)/g)].at(-1);
    expect(last, out).toBeDefined();
    expect(Number(last![1])).toBeGreaterThanOrEqual(3); // 2 miners + the operator
    expect(Number(last![2])).toBeGreaterThan(0);
    expect(Number(last![3])).toBeGreaterThan(0);
    expect(last![4]).toMatch(/samples=[1-9]/);

    // The network fleet: the emulated ASICs started, the supervisor pod Ready, every device mining on the demo pool.
    expect(out).toMatch(new RegExp(`${devices.length} emulated ASICs \\(miner emulate-asic, \\d+ H/s each\\) for ${NETWORK_FLEET}: `));
    expect(out).toMatch(
      new RegExp(`network fleet ${NETWORK_FLEET}: supervisor pod ${NETWORK_FLEET}-\\S+ Running and Ready, driving ${devices.length} emulated ASICs`),
    );
    expect(out).toMatch(new RegExp(`pod/${NETWORK_FLEET}-\\S+\\s+1/1\\s+Running`));
    expect(out).toMatch(new RegExp(`network fleet ${NETWORK_FLEET}: all ${devices.length} emulated ASICs mining on ${DEMO_POOL}, shares accepted by the pool`));
    // kubectl get mf -o wide: the network fleet, on the demo pool, driving every device, with a hashrate.
    const mf = kubectlRow(out, `minerfleet.minefleet.io/${NETWORK_FLEET}`);
    expect(mf, out).toBeDefined();
    expect(mf!.DEVICE).toBe('network');
    expect(mf!.POOL).toBe(DEMO_POOL);
    expect(Number(mf!.DEVICES)).toBe(devices.length);
    expect(Number(mf!.HASHRATE)).toBeGreaterThan(0);
    // The last report: each device's pool, hashrate and accepted shares from the supervisor's metrics, and what the pool accepted from it.
    const fleetLine = [
      ...out.matchAll(
        new RegExp(`network fleet ${NETWORK_FLEET} \\(supervisor metrics in Prometheus\\): (.*) \\| ${DEMO_POOL} accepted from the ASICs: (.*)`, 'g'),
      ),
    ].at(-1);
    expect(fleetLine, out).toBeDefined();
    for (const d of devices) {
      const m = new RegExp(`(?:^|, )${d} on (\\S+) (\\d+) H/s (\\d+) shares accepted`).exec(fleetLine![1]!);
      expect(m, `${d} in: ${fleetLine![1]}`).not.toBeNull();
      expect(m![1], d).toBe(DEMO_POOL);
      expect(Number(m![2]), d).toBeGreaterThan(0);
      expect(Number(m![3]), d).toBeGreaterThan(0);
      expect(Number(new RegExp(`(?:^| )${d}=(\\d+)`).exec(fleetLine![2]!)?.[1]), d).toBeGreaterThan(0);
    }
  }, 600_000);
});
