// The e2e tier's one cluster per machine: a control plane ready for a node, and the real node
// (containerd + runc + CNI + kubelet + kube-proxy) with the project image imported. Runs only
// when an e2e file is selected (vitest runs a project's globalSetup only for its own files).
// Before the shared node starts, a first node is started, runs a pod (so that a shim, a pod
// netns, its mounts and veth exist), is stopped on the same control plane, and everything it
// could leave behind is compared (node-cleanup.test.ts asserts the report).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  PAUSE_IMAGE,
  PROJECT_IMAGE_TAR,
  readSysctls,
  REPO_ROOT,
  startControlPlane,
  startNode,
  waitFor,
  type ControlPlane,
  type Node,
} from '../support/index.js';
import { added, leftovers, snapshotMachine, type CleanupReport } from './machine.js';

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

const PROBE_POD = 'node-cleanup-probe';

/** Runs the pause image as a pod on the first node; returns ms from create to Ready (the pod start-up figure). */
async function runProbePod(control: ControlPlane): Promise<number> {
  const started = Date.now();
  // The default ServiceAccount appears a moment after the namespace controller starts.
  await waitFor(
    async () => {
      const r = await control.kubectl([
        'run',
        PROBE_POD,
        '-n',
        'default',
        `--image=${PAUSE_IMAGE}`,
        '--image-pull-policy=Never',
        '--restart=Never',
        '--overrides={"spec":{"terminationGracePeriodSeconds":0}}',
      ]);
      if (r.code !== 0 && !r.stderr.includes('AlreadyExists')) throw new Error(`kubectl run ${PROBE_POD}: ${r.stderr.trim()}`);
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: `pod ${PROBE_POD} created` },
  );
  // Polled, not `kubectl wait`: kubectl 1.33 fails at once on an object with no conditions yet.
  await waitFor(
    async () => {
      const r = await control.kubectl(['get', 'pod', '-n', 'default', PROBE_POD, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      if (r.code !== 0) throw new Error(`kubectl get pod ${PROBE_POD}: ${r.stderr.trim()}`);
      return r.stdout.trim() === 'True';
    },
    { timeoutMs: 120_000, intervalMs: 100, description: `pod ${PROBE_POD} Ready on the first node` },
  );
  return Date.now() - started;
}

export async function setup(project: TestProject): Promise<void> {
  const tar = PROJECT_IMAGE_TAR();
  if (!existsSync(tar)) {
    // CI builds it before vitest (scripts/test-all.sh); a developer's first e2e run builds it here.
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'image.sh')], { stdio: 'inherit' });
  }
  cp = await startControlPlane({ controllerManager: true, scheduler: true, node: true });

  const before = await snapshotMachine();
  const first = await startNode(cp);
  const podReadyMs = await runProbePod(cp);
  const firstPids = first.pids();
  const during = await snapshotMachine();
  const stopStarted = Date.now();
  await first.stop();
  const stopMs = Date.now() - stopStarted;
  const after = await snapshotMachine();
  // The pod object outlives its node; the shared node registers under the same name and would run it again.
  const del = await cp.kubectl(['delete', 'pod', '-n', 'default', PROBE_POD, '--force', '--grace-period=0', '--ignore-not-found']);
  if (del.code !== 0) throw new Error(`kubectl delete pod ${PROBE_POD}: ${del.stderr.trim()}`);
  const cleanup: CleanupReport = {
    pidsWhileRunning: firstPids,
    rulesAddedWhileRunning: during.iptables !== before.iptables,
    bridgeWhileRunning: during.links.includes('mfbr0'),
    podWhileRunning: {
      shims: added(before.shims, during.shims).length,
      netns: added(before.netns, during.netns).length,
      mounts: added(before.mounts, during.mounts).length,
    },
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
    timings: { controlPlane: cp.timings, firstNode: { ...first.timings, podReadyMs, stopMs }, node: node.timings },
  });
  process.stderr.write(
    `[e2e] control plane ${JSON.stringify(cp.timings)}\n[e2e] first node ${JSON.stringify({ ...first.timings, podReadyMs, stopMs })}\n[e2e] node ${JSON.stringify(node.timings)}\n`,
  );
}

export async function teardown(): Promise<void> {
  await node?.stop();
  await cp?.stop();
}
