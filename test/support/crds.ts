import path from 'node:path';
import type { ControlPlane } from './controlPlane.js';
import { REPO_ROOT } from './paths.js';
import { waitFor } from './wait.js';

export const PROJECT_CRDS = ['minerfleets.minefleet.io', 'miningpools.minefleet.io'];

interface CrdStatus {
  metadata: { name: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/**
 * Waits until every named CRD reports Established=True. Not `kubectl wait`: right after a CRD
 * is created its status has no conditions yet, and kubectl 1.33 then fails at once
 * (".status.conditions accessor error: <nil> is of the type <nil>") instead of waiting.
 */
export async function waitForCrdsEstablished(cp: ControlPlane, names: string[] = PROJECT_CRDS, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      const r = await cp.kubectl(['get', 'crd', ...names, '-o', 'json']);
      if (r.code !== 0) throw new Error(`kubectl get crd: ${r.stderr.trim()}`);
      const list = JSON.parse(r.stdout) as { items?: CrdStatus[] } & CrdStatus;
      const items = list.items ?? [list];
      const pending = names.filter((n) => {
        const crd = items.find((i) => i.metadata.name === n);
        return !crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
      if (pending.length > 0) throw new Error(`not yet Established: ${pending.join(', ')}`);
      return true;
    },
    { timeoutMs, intervalMs: 200, description: `CRDs ${names.join(', ')} Established` },
  );
}

/** Applies the project's CRDs (crds/) and waits until both are Established. */
export async function installCrds(cp: ControlPlane): Promise<void> {
  const r = await cp.kubectl(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
  if (r.code !== 0) throw new Error(`installing CRDs failed: ${r.stderr}`);
  await waitForCrdsEstablished(cp);
}
