import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { binPath, PROJECT_IMAGE, REPO_ROOT, runTool, type ToolResult } from '../support/index.js';

/** The shared e2e cluster (globalSetup.ts), seen from a test file. */
export function e2eCluster(): {
  kubeconfigPath: string;
  nodeIp: string;
  nodeName: string;
  kubeConfig: KubeConfig;
  kubectl(args: string[], opts?: { input?: string }): Promise<ToolResult>;
  helm(args: string[], opts?: { input?: string; helmHome: string }): Promise<ToolResult>;
} {
  const ctx = inject('e2e');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(ctx.kubeconfigPath);
  return {
    kubeconfigPath: ctx.kubeconfigPath,
    nodeIp: ctx.nodeIp,
    nodeName: ctx.nodeName,
    kubeConfig,
    kubectl: (args, o = {}) => runTool(binPath('kubectl'), [`--kubeconfig=${ctx.kubeconfigPath}`, ...args], { input: o.input }),
    helm: (args, o) =>
      runTool(binPath('helm'), [`--kubeconfig=${ctx.kubeconfigPath}`, ...args], {
        input: o?.input,
        env: {
          ...process.env,
          HELM_CACHE_HOME: path.join(o?.helmHome ?? '/tmp', 'cache'),
          HELM_CONFIG_HOME: path.join(o?.helmHome ?? '/tmp', 'config'),
          HELM_DATA_HOME: path.join(o?.helmHome ?? '/tmp', 'data'),
        },
      }),
  };
}

/** kubectl that must succeed: returns stdout, throws with stderr otherwise. */
export async function ok(p: Promise<ToolResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

type Cluster = ReturnType<typeof e2eCluster>;
type Values = Record<string, unknown>;

/** The chart values every e2e install shares: the image built by scripts/image.sh, never pulled. */
const [IMAGE_REPOSITORY, IMAGE_TAG] = PROJECT_IMAGE.split(':') as [string, string];
const BASE_VALUES: Values = {
  image: { repository: IMAGE_REPOSITORY, tag: IMAGE_TAG, pullPolicy: 'Never' },
  minerImage: { pullPolicy: 'Never' },
  replicaCount: 1,
};

function merge(a: Values, b: Values): Values {
  const out: Values = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    const bothObjects = [prev, v].every((x) => typeof x === 'object' && x !== null && !Array.isArray(x));
    out[k] = bothObjects ? merge(prev as Values, v as Values) : v;
  }
  return out;
}

/**
 * `helm install` of the chart from helm/ with the e2e image, waiting for the operator to be
 * Ready; `values` are merged over the shared ones. uninstall() waits, so the next file's
 * operator never meets this one.
 */
export async function installOperator(
  c: Cluster,
  opts: { release?: string; namespace: string; values?: Values; createNamespace?: boolean },
): Promise<{ release: string; uninstall: () => Promise<void> }> {
  const release = opts.release ?? 'minefleet';
  const helmHome = mkdtempSync(path.join(os.tmpdir(), 'minefleet-e2e-helm-'));
  const args = ['install', release, path.join(REPO_ROOT, 'helm', 'minefleet'), '-n', opts.namespace, '-f', '-', '--wait', '--timeout=240s'];
  if (opts.createNamespace !== false) args.push('--create-namespace');
  const install = await c.helm(args, { helmHome, input: stringify(merge(BASE_VALUES, opts.values ?? {})) });
  if (install.code !== 0) {
    rmSync(helmHome, { recursive: true, force: true });
    throw new Error(`helm install ${release} -n ${opts.namespace}: exit ${install.code}: ${install.stderr}`);
  }
  return {
    release,
    uninstall: async () => {
      await c.helm(['uninstall', release, '-n', opts.namespace, '--wait', '--timeout=120s'], { helmHome });
      rmSync(helmHome, { recursive: true, force: true });
    },
  };
}
