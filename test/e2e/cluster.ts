import { KubeConfig } from '@kubernetes/client-node';
import path from 'node:path';
import { inject } from 'vitest';
import { binPath, runTool, type ToolResult } from '../support/index.js';

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
