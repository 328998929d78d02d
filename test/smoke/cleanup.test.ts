import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { livePids, pidAlive, startControlPlane, startFerretDB, startLitecoind, startPrometheus, waitFor } from '../support/index.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'hold-components.ts');

describe('no process is left behind', () => {
  it('stop() ends every component process', async () => {
    const before = new Set(livePids());
    const [cp, db, ltc, prom] = await Promise.all([
      startControlPlane({ controllerManager: true, scheduler: true }),
      process.env.MONGODB_URI ? undefined : startFerretDB(),
      startLitecoind(),
      startPrometheus({ scrapeConfigs: [] }),
    ]);
    const pids = [...cp.pids(), ...(db?.pids() ?? []), ...ltc.pids(), ...prom.pids()];
    // etcd, apiserver, controller-manager, scheduler, [ferretdb], 2 x litecoind, prometheus
    expect(pids).toHaveLength(db ? 8 : 7);
    expect(pids.every(pidAlive)).toBe(true);

    await Promise.all([cp.stop(), db?.stop(), ltc.stop(), prom.stop()]);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(livePids().filter((pid) => !before.has(pid))).toEqual([]);
  });

  for (const [signal, args] of [
    ['SIGKILL', ['--control-plane']],
    ['SIGTERM', []],
    ['SIGINT', []],
  ] as const) {
    it(`a test process ended by ${signal} takes its components and temp dirs with it`, async () => {
      const env = { ...process.env };
      delete env.MONGODB_URI;
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      try {
        const report = await waitFor(
          () => {
            if (child.exitCode !== null) throw new Error(`fixture exited with ${child.exitCode}: ${stderr}`);
            const line = stdout.split('\n').find((l) => l.startsWith('{'));
            return line ? (JSON.parse(line) as { pids: number[]; dirs: string[] }) : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 100, description: 'the fixture to start its components' },
        );
        expect(report.pids.length).toBe(args.length > 0 ? 3 : 1);
        expect(report.pids.every(pidAlive)).toBe(true);
        expect(report.dirs.every((d) => existsSync(d))).toBe(true);

        child.kill(signal);
        await waitFor(() => report.pids.every((pid) => !pidAlive(pid)) && report.dirs.every((d) => !existsSync(d)), {
          timeoutMs: 20_000,
          intervalMs: 100,
          description: `component processes ${report.pids.join(', ')} and ${report.dirs.join(', ')} to be gone after ${signal}`,
        });
      } finally {
        child.kill('SIGKILL');
      }
    });
  }
});
