import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorMessage, GiveUp, waitFor } from './wait.js';

// ---------------------------------------------------------------------------------------------
// Process-wide registry. Every child and temp dir the harness creates is recorded here so that
// nothing outlives the test process: on normal exit, SIGINT/SIGTERM and uncaught errors we kill
// the children ourselves; if this process is SIGKILLed (no handler runs), a detached watchdog
// notices its stdin pipe close and kills them.
// ---------------------------------------------------------------------------------------------

const liveChildren = new Map<number, ManagedProcess>();
const liveTempDirs = new Set<string>();
let handlersInstalled = false;
let watchdog: ChildProcess | undefined;

const WATCHDOG_SCRIPT = `
pids=""; dirs=""
while read -r op arg; do
  case "$op" in
    add) pids="$pids $arg" ;;
    del) pids=$(printf ' %s ' $pids | sed "s/ $arg / /") ;;
    dir) dirs="$dirs $arg" ;;
    undir) dirs=$(printf ' %s ' $dirs | sed "s# $arg # #") ;;
  esac
done
[ -n "$pids" ] && kill -TERM $pids 2>/dev/null
[ -n "$pids" ] && sleep 1 && kill -KILL $pids 2>/dev/null
for d in $dirs; do rm -rf "$d"; done
exit 0
`;

function tellWatchdog(line: string): void {
  if (!watchdog) {
    try {
      watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
      watchdog.on('error', () => undefined);
      watchdog.stdin?.on('error', () => undefined);
      watchdog.unref();
      (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    } catch {
      return; // the in-process handlers still cover everything but SIGKILL
    }
  }
  watchdog.stdin?.write(`${line}\n`);
}

function killAllNow(signal: NodeJS.Signals): void {
  for (const proc of liveChildren.values()) {
    try {
      process.kill(proc.pid, signal);
    } catch {
      // already gone
    }
  }
}

function removeTempDirsNow(): void {
  for (const dir of liveTempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  liveTempDirs.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    killAllNow('SIGKILL');
    removeTempDirsNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllNow('SIGKILL');
      removeTempDirsNow();
      process.removeListener(signal, onSignal);
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
  // A monitor does not change how the error is handled; it only lets us clean up first when the
  // error is going to end the process.
  process.on('uncaughtExceptionMonitor', () => {
    if (process.listenerCount('uncaughtException') === 0) killAllNow('SIGKILL');
  });
}

/** Live harness children of this process (for tests that assert nothing is left behind). */
export function livePids(): number[] {
  return [...liveChildren.keys()];
}

/** True while a process with this PID exists (and is not a zombie). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (after "(comm)") is the state; Z = zombie, X = dead.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Temp dirs
// ---------------------------------------------------------------------------------------------

// MINEFLEET_KEEP_TMP=1 keeps temp dirs (component logs, data) for debugging a failed test.
const keepTempDirs = (): boolean => Boolean(process.env.MINEFLEET_KEEP_TMP);

/** A fresh directory under os.tmpdir(); removed by removeTempDir() or, at the latest, at exit. */
export function makeTempDir(prefix: string): string {
  installHandlers();
  const dir = mkdtempSync(path.join(os.tmpdir(), `minefleet-${prefix}-`));
  if (keepTempDirs()) return dir;
  liveTempDirs.add(dir);
  tellWatchdog(`dir ${dir}`);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  if (keepTempDirs()) {
    process.stderr.write(`[harness] MINEFLEET_KEEP_TMP: kept ${dir}\n`);
    return;
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  liveTempDirs.delete(dir);
  tellWatchdog(`undir ${dir}`);
}

// ---------------------------------------------------------------------------------------------
// Managed child processes
// ---------------------------------------------------------------------------------------------

export interface SpawnOptions {
  /** Short name used in errors and the log file name. */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr of the child are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;

  constructor(
    private readonly child: ChildProcess,
    opts: SpawnOptions,
  ) {
    this.name = opts.name;
    this.logFile = opts.logFile;
    this.pid = child.pid ?? -1;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', (error) => {
        // spawn failure (e.g. ENOENT): no 'exit' event follows
        if (this.pid === -1) this.finish({ code: null, signal: null, error }, resolve);
      });
      child.once('exit', (code, signal) => this.finish({ code, signal }, resolve));
    });
    // A failed spawn leaves pid undefined and only emits 'error'.
    if (this.pid !== -1) {
      liveChildren.set(this.pid, this);
      tellWatchdog(`add ${this.pid}`);
    }
  }

  private finish(info: ExitInfo, resolve: (info: ExitInfo) => void): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    if (this.pid !== -1) {
      liveChildren.delete(this.pid);
      tellWatchdog(`del ${this.pid}`);
    }
    resolve(info);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** How the process ended, or undefined while it runs. */
  get exitStatus(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /**
   * True when this very process has a listening TCP socket on `port`. Readiness checks use it so
   * that another server that happens to hold the port is never mistaken for ours.
   */
  listensOn(port: number): boolean {
    return this.running && listeningPorts(this.pid).has(port);
  }

  /** The last `lines` lines of the child's output. */
  tail(lines = 30): string {
    try {
      return readFileTail(this.logFile, 64 * 1024)
        .split('\n')
        .slice(-lines - 1)
        .join('\n')
        .trimEnd();
    } catch {
      return '(no output)';
    }
  }

  describeExit(): string {
    const info = this.exitInfo;
    if (!info) return `${this.name} is running (pid ${this.pid})`;
    if (info.error) return `${this.name} could not be started: ${info.error.message}`;
    return `${this.name} exited with ${info.signal ? `signal ${info.signal}` : `code ${info.code}`}`;
  }

  /**
   * Waits until `check` is truthy. Fails fast if the process exits meanwhile, and on timeout; both
   * errors carry the last lines of the process log.
   */
  async waitUntilReady(check: () => Promise<unknown> | unknown, opts: { timeoutMs?: number; intervalMs?: number; description?: string } = {}): Promise<void> {
    const description = opts.description ?? `${this.name} to become ready`;
    try {
      await waitFor(
        async () => {
          if (!this.running) throw new GiveUp(`${this.describeExit()} while waiting for ${description}`);
          return await check();
        },
        { ...opts, description },
      );
    } catch (err) {
      throw new Error(`${errorMessage(err)}\n--- last lines of ${this.logFile} ---\n${this.tail()}`);
    }
  }

  /** SIGKILL; for throw-away servers whose graceful shutdown would only cost time. */
  async kill(): Promise<void> {
    if (!this.running) return;
    try {
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (!this.running) return;
    try {
      this.child.kill('SIGTERM');
    } catch {
      // already gone
    }
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!stopped && this.running) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // already gone
      }
      await this.exited;
    }
  }
}

/** Starts a child whose output goes to `logFile`; it is registered for cleanup at exit. */
export function spawnProcess(opts: SpawnOptions): ManagedProcess {
  installHandlers();
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
    });
    return new ManagedProcess(child, opts);
  } finally {
    closeSync(fd);
  }
}

function readFileTail(file: string, maxBytes: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    const read = readSync(fd, buf, 0, length, size - length);
    return buf.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Ports on which process `pid` has a TCP socket in LISTEN state (Linux /proc). */
export function listeningPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket inode
      if (fields[3] === '0A' && fields[9] && inodes.has(fields[9])) {
        const port = Number.parseInt(fields[1]?.split(':')[1] ?? '', 16);
        if (Number.isFinite(port)) ports.add(port);
      }
    }
  }
  return ports;
}
