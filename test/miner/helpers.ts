/** Test helpers: run the built miner as a real process with a config file in a temp dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MinerConfigInput } from '../../miner/src/config/schema.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MINER_MAIN = join(REPO_ROOT, 'dist/miner/src/main.js');

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface MinerProcess {
  proc: ChildProcess;
  pid: number;
  dir: string;
  configPath: string;
  logs: LogLine[];
  stderr: () => string;
  rawStdout: () => string;
  metricsPort: () => number;
  metrics: () => Promise<string>;
  metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  writeConfig: (cfg: MinerConfigInput) => void;
  writeFile: (name: string, text: string) => string;
  alive: () => boolean;
  stop: () => Promise<number | null>;
}

export function poolEntry(name: string, url: string, extra: Record<string, unknown> = {}) {
  return { name, url, userEnv: 'POOL_USER', passwordEnv: 'POOL_PASS', workerNameTemplate: '{{fleet}}.{{pod}}', ...extra };
}

export function baseConfig(pools: ReturnType<typeof poolEntry>[], activePool: string, extra: Partial<MinerConfigInput> = {}): MinerConfigInput {
  return {
    fleet: 'testfleet',
    pod: 'miner-0',
    pools,
    activePool,
    failover: { fallbackAfterSeconds: 30, idleTimeoutSeconds: 30, backoff: { initialMs: 200, maxMs: 2000 } },
    backend: { kind: 'cpu', threads: 1 },
    metrics: { host: '127.0.0.1', port: 0 },
    logLevel: 'info',
    ...extra,
  };
}

export const POOL_PASSWORD = 'hunter2-very-secret';

export async function startMiner(cfg: MinerConfigInput, env: NodeJS.ProcessEnv = {}): Promise<MinerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'miner-it-'));
  const configPath = join(dir, 'miner.yaml');
  const writeFile = (name: string, text: string) => {
    const p = join(dir, name);
    // Atomic replace, as Kubernetes does for mounted ConfigMaps.
    writeFileSync(p + '.tmp', text);
    renameSync(p + '.tmp', p);
    return p;
  };
  const writeConfig = (c: MinerConfigInput) => writeFile('miner.yaml', JSON.stringify(c, null, 2));
  writeConfig(cfg);
  const proc = spawn(process.execPath, [MINER_MAIN, 'run', '--config', configPath], {
    env: { PATH: process.env.PATH, POOL_USER: 'tester', POOL_PASS: POOL_PASSWORD, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let out = '';
  let err = '';
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    partial += c;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      try {
        logs.push(JSON.parse(l));
      } catch {
        logs.push({ level: 0, msg: `unparsed: ${l}` });
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      exitCode = code;
      r(code);
    }),
  );
  const metricsPort = () => {
    const l = logs.find((x) => x.msg === 'metrics server listening');
    if (!l) throw new Error('metrics server not up yet');
    return l.port as number;
  };
  const port = await waitFor(
    'miner metrics server',
    () => {
      if (exitCode !== undefined) throw new Error(`miner exited with ${exitCode}: ${err}`);
      return logs.find((x) => x.msg === 'metrics server listening')?.port as number | undefined;
    },
    60_000,
  );
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const text = await metrics();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
      const m = /^([^{ ]+)(\{(.*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const ls: Record<string, string> = {};
      for (const kv of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1]!] = kv[2]!;
      if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[4]);
    }
    return sum;
  };
  return {
    proc,
    pid: proc.pid!,
    dir,
    configPath,
    logs,
    stderr: () => err,
    rawStdout: () => out,
    metricsPort,
    metrics,
    metric,
    writeConfig,
    writeFile,
    alive: () => exitCode === undefined,
    stop: async () => {
      if (exitCode === undefined) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
      return exitCode ?? null;
    },
  };
}
