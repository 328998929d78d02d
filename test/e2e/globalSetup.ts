// The e2e tier's one cluster per machine: a control plane ready for a node, and the real node
// (containerd + runc + CNI + kubelet + kube-proxy) with the project image imported. Runs only
// when an e2e file is selected (vitest runs a project's globalSetup only for its own files).
// Before the shared node starts, a first node is started and stopped on the same control plane
// and everything it could leave behind is compared (node-cleanup.test.ts asserts the report).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { PROJECT_IMAGE_TAR, readSysctls, REPO_ROOT, startControlPlane, startNode, type ControlPlane, type Node } from '../support/index.js';
import { leftovers, snapshotMachine, type CleanupReport } from './machine.js';

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: {
      kubeconfigPath: string;
      server: string;
      nodeIp: string;
      nodeName: string;
      nodeDir: string;
      cleanup: CleanupReport;
      timings: Record<string, Record<string, number>>;
    };
  }
}

let cp: ControlPlane | undefined;
let node: Node | undefined;

export async function setup(project: TestProject): Promise<void> {
  const tar = PROJECT_IMAGE_TAR();
  if (!existsSync(tar)) {
    // CI builds it before vitest (scripts/test-all.sh); a developer's first e2e run builds it here.
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'image.sh')], { stdio: 'inherit' });
  }
  cp = await startControlPlane({ controllerManager: true, scheduler: true, node: true });

  const before = await snapshotMachine();
  const first = await startNode(cp);
  const firstPids = first.pids();
  const during = await snapshotMachine();
  const stopStarted = Date.now();
  await first.stop();
  const stopMs = Date.now() - stopStarted;
  const after = await snapshotMachine();
  const cleanup: CleanupReport = {
    pidsWhileRunning: firstPids,
    rulesAddedWhileRunning: during.iptables !== before.iptables,
    bridgeWhileRunning: during.links.includes('mfbr0'),
    leftovers: leftovers(before, after, firstPids),
    stopMs,
    sysctlsBefore: before.sysctls,
    sysctlsAfter: readSysctls(),
  };

  node = await startNode(cp, { images: [tar] });
  project.provide('e2e', {
    kubeconfigPath: cp.kubeconfigPath,
    server: cp.server,
    nodeIp: node.ip,
    nodeName: node.name,
    nodeDir: node.dir,
    cleanup,
    timings: { controlPlane: cp.timings, firstNode: first.timings, node: node.timings },
  });
  process.stderr.write(`[e2e] control plane ${JSON.stringify(cp.timings)}\n[e2e] node ${JSON.stringify(node.timings)}\n`);
}

export async function teardown(): Promise<void> {
  await node?.stop();
  await cp?.stop();
}
