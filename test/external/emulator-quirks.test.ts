/**
 * The emulator's reply quirks as bytes on the wire: raw TCP connections to real `miner
 * emulate-asic` processes, one per quirk, check that each quirk is in what the device sends when
 * it is switched on (a trailing NUL, `}{` between STATS reports, `,}`, bare inf/nan, every Nth
 * reply cut short) and that, undone, the rest is strict JSON; with `--quirks none` no reply has
 * any of them. Then `miner supervise` drives a device whose replies are cut short (and a GPU rig
 * beside it) through a pool, a suspension and a resume: it keeps running, counts the bad replies,
 * and the GPU rig is paused with gpudisable and resumed with gpuenable.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgminerClient } from '../../miner/src/external/client.js';
import { QUIRKS, type Quirk } from '../../miner/src/external/models.js';
import { parseReply, ReplyError } from '../../miner/src/external/reply.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, POOL_PASSWORD, waitFor } from '../miner/helpers.js';
import { metricValue, startEmulators, startProc, type Proc } from './helpers.js';

/** One request on its own connection; the reply's bytes exactly as the device sent them. */
function raw(port: number, request: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(request));
    s.setTimeout(10_000, () => s.destroy(new Error(`no reply to ${request} within 10 s`)));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}
const json = (port: number, command: string) => raw(port, JSON.stringify({ command })).then((b) => b.toString('latin1'));

const READS = ['version', 'config', 'summary', 'pools', 'devs', 'stats'] as const;
const BARE = /:-?(inf|nan)[,}\]]/;

describe('emulate-asic: reply quirks on the wire', () => {
  type Emu = Awaited<ReturnType<typeof startEmulators>>;
  const emus = new Map<string, Emu>();
  const port = (q: string) => emus.get(q)!.ports[0]!;

  beforeAll(async () => {
    // A fresh device (no pool, no shares): its summary has a NaN work utility and an infinite rejected %.
    const runs: Array<[string, string[]]> = [
      ...QUIRKS.filter((q) => q !== 'truncated').map((q): [string, string[]] => [q, ['--quirks', q]]),
      ['truncated', ['--quirks', 'truncated', '--truncate-every', '3']],
      ['none', ['--quirks', 'none']],
    ];
    const started = await Promise.all(runs.map(([, args]) => startEmulators(['--model', 'antminer-l3plus', '--hashrate', '50', ...args], 1)));
    runs.forEach(([q], i) => emus.set(q, started[i]!));
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...emus.values()].map((e) => e.p.stop()));
  });

  it('the quirk list covers every quirk the table knows', () => {
    expect([...QUIRKS].sort()).toEqual((['brace-join', 'inf-nan', 'trailing-comma', 'trailing-nul', 'truncated'] satisfies Quirk[]).sort());
  });

  it('trailing-nul: every reply (JSON and plain) ends with one NUL; without it the reply is strict JSON', async () => {
    for (const c of READS) {
      const text = await json(port('trailing-nul'), c);
      expect(text.endsWith('\0'), c).toBe(true);
      expect(text.indexOf('\0'), c).toBe(text.length - 1);
      expect(() => JSON.parse(text.slice(0, -1)), c).not.toThrow();
    }
    const plain = (await raw(port('trailing-nul'), 'summary')).toString('latin1');
    expect(plain).toMatch(/^STATUS=S,[^\0]*\|\0$/);
  });

  it('brace-join: the STATS reports are joined by `}{` (no comma); with the comma it is strict JSON', async () => {
    const text = await json(port('brace-join'), 'stats');
    expect(text).toMatch(/"STATS":\[\{"STATS":0,[^\]]*\}\{"STATS":1,/);
    expect(() => JSON.parse(text)).toThrow();
    expect(JSON.parse(text.replaceAll('}{', '},{')).STATS).toHaveLength(2);
    // Only between reports: other replies are untouched.
    for (const c of READS.filter((x) => x !== 'stats')) expect(await json(port('brace-join'), c), c).not.toContain('}{');
  });

  it('trailing-comma: every object ends with `,}`; without the commas the reply is strict JSON', async () => {
    for (const c of READS) {
      const text = await json(port('trailing-comma'), c);
      expect(text, c).toContain(',}');
      expect(text, c).not.toMatch(/[^,]\}/); // every closing brace of a non-empty object
      expect(() => JSON.parse(text.replaceAll(',}', '}')), c).not.toThrow();
    }
  });

  it('inf-nan: non-finite numbers are bare inf/nan; as null the reply is strict JSON', async () => {
    const text = await json(port('inf-nan'), 'summary');
    expect(text).toContain('"Work Utility":nan');
    expect(text).toContain('"Device Rejected%":inf');
    expect(() => JSON.parse(text)).toThrow();
    const fixed = JSON.parse(text.replace(/:(-?inf|nan)(?=[,}\]])/g, ':null')) as { SUMMARY: Array<Record<string, unknown>> };
    expect(fixed.SUMMARY[0]!['Work Utility']).toBeNull();
  });

  it('truncated: every 3rd reply is cut short, the others are whole; the parser reports the cut ones as truncated', async () => {
    const texts: string[] = [];
    for (let i = 0; i < 9; i++) texts.push(await json(port('truncated'), 'summary'));
    const whole = texts.filter((_, i) => (i + 1) % 3 !== 0);
    const cut = texts.filter((_, i) => (i + 1) % 3 === 0);
    expect(cut).toHaveLength(3);
    for (const t of whole) expect(() => JSON.parse(t)).not.toThrow();
    const full = Math.min(...whole.map((t) => t.length));
    for (const t of cut) {
      expect(t.startsWith('{"STATUS":[{"STATUS":"S",')).toBe(true);
      expect(t.length).toBeLessThanOrEqual(Math.ceil(full / 2) + 8);
      expect(t.length).toBeGreaterThan(0);
      expect(t).not.toContain('\0');
      let err: unknown;
      try {
        parseReply(t, 'summary');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ReplyError);
      expect((err as ReplyError).kind).toBe('truncated');
      expect((err as ReplyError).message).toMatch(/^summary: truncated reply \(\d+ bytes, \d+ unclosed brackets\)$/);
    }
    // Through the client, the same request fails with the same kind and the next one succeeds.
    const client = new CgminerClient({ host: '127.0.0.1', port: port('truncated') });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(
        await client.summary().then(
          () => 'ok',
          (e: ReplyError) => e.kind,
        ),
      );
    expect(outcomes).toEqual(['ok', 'ok', 'truncated']);
  });

  it('--quirks none: no trailing NUL, no `}{`, no `,}`, no bare inf/nan, nothing cut: every reply is strict JSON', async () => {
    for (let round = 0; round < 3; round++) {
      for (const c of READS) {
        const bytes = await raw(port('none'), JSON.stringify({ command: c }));
        const text = bytes.toString('latin1');
        expect(bytes.includes(0), c).toBe(false);
        expect(text, c).not.toContain('}{');
        expect(text, c).not.toContain(',}');
        expect(text, c).not.toMatch(BARE);
        expect(() => JSON.parse(text), c).not.toThrow();
      }
    }
    const summary = JSON.parse(await json(port('none'), 'summary')) as { SUMMARY: Array<Record<string, unknown>> };
    expect(summary.SUMMARY[0]!['Work Utility']).toBe(0); // non-finite numbers written as 0
    expect((await raw(port('none'), 'summary')).includes(0)).toBe(false);
  });

  it('refuses --truncate-every without the truncated quirk', async () => {
    const p = startProc(['emulate-asic', '--port', '0', '--model', 'antminer-l3plus', '--quirks', 'none', '--truncate-every', '3']);
    await waitFor('emulate-asic exits', () => !p.alive(), 30_000);
    expect(p.proc.exitCode).toBe(2);
    expect(p.stderr()).toContain('--truncate-every: needs the truncated quirk');
  });
});

describe('miner supervise: a device that cuts its replies short, and a GPU rig', () => {
  let pool: StratumPool;
  let trunc: Awaited<ReturnType<typeof startEmulators>>;
  let gpu: Awaited<ReturnType<typeof startEmulators>>;
  let sup: Proc;
  let metricsPort = 0;
  const DEVICES = ['trunc-0', 'gpu-0'];
  const worker = (d: string) => `tester.farm.sup-0.${d}`;
  const dir = mkdtempSync(join(tmpdir(), 'supervise-quirks-'));
  const runtimePath = join(dir, 'runtime.json');
  const setRuntime = (state: Record<string, unknown>) => {
    writeFileSync(runtimePath + '.tmp', JSON.stringify(state));
    renameSync(runtimePath + '.tmp', runtimePath);
  };
  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const accepted = (d: string, after = 0) => pool.shares.filter((s) => s.worker === worker(d) && s.result === 'accepted' && s.receivedAt >= after).length;
  const gpuClient = () => new CgminerClient({ host: '127.0.0.1', port: gpu.ports[0]! });

  beforeAll(async () => {
    pool = await startStratumPool({ difficulty: 0.002 });
    // Every 5th reply cut short: over the 4 reads of a poll the cut moves from one command to the next.
    [trunc, gpu] = await Promise.all([
      startEmulators(['--model', 'antminer-l3plus', '--hashrate', '200', '--quirks', 'trailing-nul,truncated', '--truncate-every', '5'], 1),
      startEmulators(['--model', 'generic', '--hashrate', '200'], 1),
    ]);
  }, 120_000);
  afterAll(async () => {
    await sup?.stop();
    await trunc?.p.stop();
    await gpu?.p.stop();
    await pool?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps running, counts the truncated replies, and still brings both devices onto the pool', async () => {
    setRuntime({ activePool: 'a', revision: 1 });
    const cfg = baseConfig([poolEntry('a', pool.url)], 'a', {
      fleet: 'farm',
      pod: 'sup-0',
      runtime: { file: { path: runtimePath } },
      external: {
        devices: [
          { name: 'trunc-0', host: '127.0.0.1', port: trunc.ports[0]! },
          { name: 'gpu-0', host: '127.0.0.1', port: gpu.ports[0]!, model: 'generic' },
        ],
        pollIntervalSeconds: 1,
        requestTimeoutMs: 3000,
      },
    });
    const cfgPath = join(dir, 'miner.yaml');
    writeFileSync(cfgPath, JSON.stringify(cfg));
    sup = startProc(['supervise', '--config', cfgPath], { POOL_USER: 'tester', POOL_PASS: POOL_PASSWORD });
    metricsPort = await waitFor('supervisor metrics server', () => {
      if (!sup.alive()) throw new Error(`supervise exited: ${sup.stderr()}`);
      return sup.logs.find((l) => l.msg === 'metrics server listening')?.port as number | undefined;
    });
    await waitFor('accepted shares from both devices', () => DEVICES.every((d) => accepted(d) >= 1), 120_000, 100);
    const text = await waitFor(
      'truncated replies counted, and both devices with share metrics',
      async () => {
        const t = await metrics();
        return (metricValue(t, 'minefleet_miner_device_api_errors_total', { device: 'trunc-0', kind: 'truncated' }) ?? 0) >= 2 &&
          DEVICES.every((d) => (metricValue(t, 'minefleet_miner_shares_total', { device: d, pool: 'a', result: 'accepted' }) ?? 0) >= 1)
          ? t
          : null;
      },
      60_000,
    );
    // The bad replies are the truncated device's own: the GPU rig's API never failed.
    expect(metricValue(text, 'minefleet_miner_device_api_errors_total', { device: 'gpu-0' }) ?? 0).toBe(0);
    expect(metricValue(text, 'minefleet_miner_device_up', { device: 'gpu-0' })).toBe(1);
    expect(metricValue(text, 'minefleet_miner_active_pool', { device: 'gpu-0', pool: 'a' })).toBe(1);
    // The failure is logged with the reply's size, and the process is still serving.
    const failed = sup.logs.filter((l) => l.msg === 'device API request failed' && l.device === 'trunc-0');
    expect(failed.length).toBeGreaterThan(0);
    expect(String(failed[0]!.err)).toMatch(/truncated reply \(\d+ bytes/);
    expect(sup.alive()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
  });

  it('suspension pauses the GPU rig with gpudisable (and the ASC device with ascdisable); resume restarts both', async () => {
    setRuntime({ activePool: 'a', revision: 2, suspended: true });
    await waitFor(
      'both devices suspended',
      async () => {
        const t = await metrics();
        return DEVICES.every((d) => metricValue(t, 'minefleet_miner_device_suspended', { device: d }) === 1);
      },
      60_000,
    );
    const units = (await gpuClient().devs()).DEVS!;
    expect(units.map((u) => [u.GPU, u.Enabled])).toEqual([[0, 'N']]);
    expect(sup.logs.some((l) => l.msg === 'device command applied' && l.device === 'gpu-0' && l.action === 'gpudisable 0')).toBe(true);
    await waitFor('the GPU rig reports 0 H/s', async () => (await gpuClient().summary()).SUMMARY![0]!['MHS 5s'] === 0, 30_000);
    // Still on its pool and answering: only the GPU idles.
    expect(((await gpuClient().pools()).POOLS ?? []).some((p) => p['Stratum Active'] === true)).toBe(true);

    const t0 = Date.now();
    setRuntime({ activePool: 'a', revision: 3, suspended: false });
    await waitFor('accepted shares from both devices after resume', () => DEVICES.every((d) => accepted(d, t0) >= 1), 120_000, 100);
    expect(((await gpuClient().devs()).DEVS ?? []).map((u) => u.Enabled)).toEqual(['Y']);
    expect(sup.logs.some((l) => l.msg === 'device command applied' && l.device === 'gpu-0' && l.action === 'gpuenable 0')).toBe(true);
    expect(sup.alive()).toBe(true);
  });

  it('never leaks the pool password into logs or metrics', async () => {
    expect(await metrics()).not.toContain(POOL_PASSWORD);
    expect(sup.stdout()).not.toContain(POOL_PASSWORD);
    expect(sup.stderr()).not.toContain(POOL_PASSWORD);
  });
});
