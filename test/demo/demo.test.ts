/**
 * The README's demo command must keep working: run scripts/demo.ts (the part of scripts/demo.sh
 * after setup) for a short while and check that the operator rendered the fleet, the miner it
 * configured mined, and litecoind accepted its blocks.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runTool } from '../support/index.js';

describe('local demo', () => {
  it('brings up the whole stack and the rendered miner gets blocks accepted by litecoind', async () => {
    const tsx = join(REPO_ROOT, 'node_modules/.bin/tsx');
    const r = await runTool(tsx, [join(REPO_ROOT, 'scripts/demo.ts'), '--seconds', '30'], { cwd: REPO_ROOT, timeoutMs: 170_000 });
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/miner running \(pid \d+, 1 threads\) with the fleet's rendered config/);
    expect(out).toMatch(/litecoind accepted a block found by the demo miner/);
    const last = [...out.matchAll(/(\d+) blocks accepted from the demo miner/g)].at(-1);
    expect(Number(last?.[1])).toBeGreaterThan(0);
    expect(out).toMatch(/activePool=regtest-pool/);
  }, 180_000);
});
