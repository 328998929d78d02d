/** Real processes of the built miner (`emulate-asic`, `supervise`) with their JSON logs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { MINER_MAIN, waitFor, type LogLine } from '../miner/helpers.js';

export interface Proc {
  proc: ChildProcess;
  logs: LogLine[];
  stdout: () => string;
  stderr: () => string;
  alive: () => boolean;
  stop: () => Promise<void>;
}

export function startProc(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const proc = spawn(process.execPath, [MINER_MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
        logs.push(JSON.parse(l) as LogLine);
      } catch {
        logs.push({ level: 0, msg: `unparsed: ${l}` });
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  let exited = false;
  const done = new Promise<void>((r) =>
    proc.once('exit', () => {
      exited = true;
      r();
    }),
  );
  return {
    proc,
    logs,
    stdout: () => out,
    stderr: () => err,
    alive: () => !exited,
    stop: async () => {
      if (exited) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(t);
    },
  };
}

/** Start `miner emulate-asic` and return the API ports it listens on. */
export async function startEmulators(args: string[], count: number, env: NodeJS.ProcessEnv = {}): Promise<{ p: Proc; ports: number[] }> {
  const p = startProc(['emulate-asic', '--port', '0', '--count', String(count), ...args], env);
  const ports = await waitFor(
    'emulated ASICs listening',
    () => {
      if (!p.alive()) throw new Error(`emulate-asic exited: ${p.stderr()}`);
      const ls = p.logs.filter((l) => l.msg === 'emulated ASIC API listening');
      return ls.length >= count ? ls.map((l) => l.port as number) : null;
    },
    60_000,
  );
  return { p, ports };
}

/** Sum of a metric's samples matching the labels, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([^{ ]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum = (sum ?? 0) + Number(m[4]);
  }
  return sum;
}
