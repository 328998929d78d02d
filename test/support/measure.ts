// Start-up/stop times of every harness component: `npx tsx test/support/measure.ts [rounds]`.
// Round 1 in a fresh process is "cold" (PKI generated, binaries maybe not in the page cache);
// later rounds are "warm".
import { startControlPlane, startFerretDB, startLitecoind, startPrometheus } from './index.js';

const rounds = Number(process.argv[2] ?? 3);
const rows: Array<{ round: number; component: string; startMs: number; stopMs: number }> = [];

async function time<T extends { stop(): Promise<void> }>(round: number, component: string, start: () => Promise<T>): Promise<void> {
  const t0 = performance.now();
  const handle = await start();
  const t1 = performance.now();
  await handle.stop();
  rows.push({ round, component, startMs: Math.round(t1 - t0), stopMs: Math.round(performance.now() - t1) });
}

for (let round = 1; round <= rounds; round++) {
  await time(round, 'control plane (etcd + apiserver)', () => startControlPlane());
  await time(round, 'control plane + controller-manager + scheduler', () => startControlPlane({ controllerManager: true, scheduler: true }));
  await time(round, 'ferretdb', () => startFerretDB());
  await time(round, 'litecoind (2 regtest nodes + wallet)', () => startLitecoind());
  await time(round, 'prometheus', () => startPrometheus({ scrapeConfigs: [] }));
}
console.table(rows);
