import { MinerMetrics } from '../../miner/src/metrics/metrics.js';

/** The exposition text the real miner serves after `setup` touched its metrics. */
export async function minerText(setup: (m: MinerMetrics) => void): Promise<string> {
  const m = new MinerMetrics(1);
  try {
    setup(m);
    return await m.registry.metrics();
  } finally {
    m.stop();
  }
}
