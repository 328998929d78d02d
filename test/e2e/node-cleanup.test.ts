import { describe, expect, inject, it } from 'vitest';

// The globalSetup started a node, ran a pod on it, took a snapshot of the machine, stopped it and compared
// (test/e2e/machine.ts): this file asserts that report.
describe('a stopped node leaves nothing behind', () => {
  const { cleanup } = inject('e2e');

  it('the node really ran: processes, bridge and iptables rules existed while it was up', () => {
    // containerd, kubelet, kube-proxy, kube-router
    expect(cleanup.pidsWhileRunning.length).toBeGreaterThanOrEqual(4);
    expect(cleanup.bridgeWhileRunning).toBe(true);
    expect(cleanup.rulesAddedWhileRunning).toBe(true);
  });

  it('a pod ran on it: its shim, network namespace and mounts existed before stop()', () => {
    expect(cleanup.podWhileRunning.shims).toBeGreaterThanOrEqual(1);
    expect(cleanup.podWhileRunning.netns).toBeGreaterThanOrEqual(1);
    expect(cleanup.podWhileRunning.mounts).toBeGreaterThanOrEqual(1);
  });

  it('after stop(): no process, shim, rule, ipset, link, route, mount or netns is left and sysctls are restored', () => {
    expect(cleanup.leftovers).toEqual({
      iptablesRules: [],
      ipsets: [],
      links: [],
      routes: [],
      mounts: [],
      netns: [],
      sysctls: [],
      shims: [],
      processes: [],
    });
    expect(cleanup.sysctlsAfter).toEqual(cleanup.sysctlsBefore);
  });
});
