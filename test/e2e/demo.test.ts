/**
 * The README's demo must keep working on the real node. The machine has one node, which the e2e
 * tier's globalSetup owns, so the demo runs attached to it (--attach: everything after the
 * cluster start, which is the same harness code as globalSetup.ts): helm install, the samples
 * against litecoind-fed pools, Prometheus discovering the pods, the history store, and blocks
 * that litecoind accepts from the miner pods.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runTool } from '../support/index.js';
import { e2eCluster } from './cluster.js';

describe('local demo on the real node', () => {
  const c = e2eCluster();

  it('installs the chart, applies the samples and shows Ready miners, Prometheus, history and accepted blocks', async () => {
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
  }, 600_000);
});
