import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { retryOnPortClash } from '../support/ports.js';
import { binPath, freePort, GiveUp, makeTempDir, pidAlive, removeTempDir, spawnProcess, waitFor } from '../support/index.js';

describe('harness building blocks', () => {
  it('binPath names the missing binary and says how to get it', () => {
    const emptyCache = mkdtempSync(path.join(os.tmpdir(), 'minefleet-empty-cache-'));
    const saved = process.env.MINEFLEET_CACHE;
    process.env.MINEFLEET_CACHE = emptyCache;
    try {
      expect(() => binPath('kube-apiserver')).toThrow(/kube-apiserver not found .*run `npm run provision`/);
    } finally {
      if (saved === undefined) delete process.env.MINEFLEET_CACHE;
      else process.env.MINEFLEET_CACHE = saved;
      rmSync(emptyCache, { recursive: true, force: true });
    }
    expect(binPath('etcd')).toMatch(/\/bin\/etcd$/);
  });

  it('freePort hands out distinct ports that can be bound on 127.0.0.1', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const port of ports.slice(0, 3)) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('waitFor returns the first truthy value and names what timed out', async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? `done after ${calls}` : undefined), { intervalMs: 5 })).resolves.toBe('done after 3');
    await expect(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        { timeoutMs: 100, intervalMs: 10, description: 'the impossible' },
      ),
    ).rejects.toThrow(/timed out after 100 ms .*waiting for the impossible; last error: not yet/);
    let giveUpCalls = 0;
    await expect(
      waitFor(
        () => {
          giveUpCalls++;
          throw new GiveUp('cannot ever happen');
        },
        { timeoutMs: 10_000, intervalMs: 10 },
      ),
    ).rejects.toThrow('cannot ever happen');
    expect(giveUpCalls).toBe(1);
  });

  it('a process that dies during start-up fails fast with the tail of its log', async () => {
    const dir = makeTempDir('support');
    const proc = spawnProcess({
      name: 'doomed',
      command: '/bin/sh',
      args: ['-c', 'echo first line; echo "fatal: bad flag --frobnicate" >&2; exit 3'],
      logFile: path.join(dir, 'doomed.log'),
    });
    const started = Date.now();
    await expect(proc.waitUntilReady(() => false, { timeoutMs: 60_000, description: 'doomed to listen' })).rejects.toThrow(
      /doomed exited with code 3 while waiting for doomed to listen[\s\S]*first line[\s\S]*fatal: bad flag --frobnicate/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    await removeTempDir(dir);
  });

  it('stop() escalates to SIGKILL when SIGTERM is ignored, and listensOn sees only our own socket', async () => {
    const dir = makeTempDir('support');
    const port = await freePort();
    const script = path.join(dir, 'stubborn.cjs');
    writeFileSync(script, `process.on('SIGTERM', () => {}); require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening'));`);
    const proc = spawnProcess({ name: 'stubborn', command: process.execPath, args: [script], logFile: path.join(dir, 'stubborn.log') });
    await proc.waitUntilReady(() => proc.listensOn(port), { timeoutMs: 30_000 });
    expect(proc.listensOn(port + 1)).toBe(false);
    const t0 = Date.now();
    await proc.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(proc.exitStatus?.signal).toBe('SIGKILL');
    expect(pidAlive(proc.pid)).toBe(false);
    await removeTempDir(dir);
  });

  it('retryOnPortClash retries bind failures only', async () => {
    let attempts = 0;
    await expect(
      retryOnPortClash(async () => {
        attempts++;
        if (attempts < 3) throw new Error('listen tcp 127.0.0.1:24001: bind: address already in use');
        return 'up';
      }),
    ).resolves.toBe('up');
    expect(attempts).toBe(3);

    let other = 0;
    await expect(
      retryOnPortClash(async () => {
        other++;
        throw new Error('unknown flag --bogus');
      }),
    ).rejects.toThrow('unknown flag --bogus');
    expect(other).toBe(1);
  });
});
