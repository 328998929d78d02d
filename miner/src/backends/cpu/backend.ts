/**
 * CPU backend: one worker thread per hashing thread. The main thread turns a job into per-thread
 * work units (distinct extranonce2 and nonce slice each) and receives hash counts and found nonces.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Job, WorkUnit } from '../../work/job.js';
import { leBytesToBigInt } from '../../work/target.js';
import type { FromWorker, ToWorker } from './protocol.js';

export interface FoundShare {
  work: WorkUnit;
  job: Job;
  thread: number;
  nonce: number;
  hashLe: Uint8Array;
  isBlock: boolean;
}

export interface CpuBackendOptions {
  threads?: number;
  kernel: string;
  log: Logger;
  onHashes: (thread: number, count: number) => void;
  onFound: (share: FoundShare) => void;
}

interface Slot {
  worker: Worker;
  port: MessagePort;
  workId: number;
  work: WorkUnit | null;
  round: number;
}

function spawnWorker(workerData: Record<string, unknown>, transferList: MessagePort[]): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData, transferList: transferList as never });
  // Running from TypeScript sources (tsx, benches): register tsx inside the thread, then load the
  // .ts worker. Production always runs the built .js above.
  const ts = new URL('./worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, workerData, transferList: transferList as never });
}

export class CpuBackend {
  readonly threads: number;
  private slots: Slot[] = [];
  private job: Job | null = null;
  private nextWorkId = 1;
  private roundCounter = 0;
  private stopping = false;

  constructor(private readonly opts: CpuBackendOptions) {
    this.threads = opts.threads ?? availableParallelism();
  }

  async start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let t = 0; t < this.threads; t++) ready.push(this.spawnSlot(t));
    await Promise.all(ready);
    this.opts.log.info({ threads: this.threads, kernel: this.opts.kernel }, 'cpu backend started');
  }

  /** Start (or restart) hashing thread t; resolves when it is ready. */
  private spawnSlot(t: number): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    const worker = spawnWorker({ thread: t, kernel: this.opts.kernel, port: port2 }, [port2]);
    const slot: Slot = { worker, port: port1, workId: 0, work: null, round: 0 };
    this.slots[t] = slot;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          resolve();
          if (this.job) {
            slot.round = ++this.roundCounter;
            this.assign(t, slot);
          }
        } else this.onReport(t, slot, m);
      });
      worker.on('error', (err) => {
        this.opts.log.error({ thread: t, err }, 'hashing thread failed');
        if (!ready) reject(err);
      });
      worker.on('exit', (code) => {
        if (this.stopping || this.slots[t] !== slot || !ready) return;
        // A thread must never die silently and leave the miner hashing slower: restart it.
        this.opts.log.error({ thread: t, code }, 'hashing thread exited; restarting it');
        setTimeout(() => {
          if (!this.stopping) this.spawnSlot(t).catch((e: Error) => this.opts.log.error({ thread: t, err: e.message }, 'hashing thread restart failed'));
        }, 1000).unref();
      });
    });
  }

  private post(slot: Slot, m: ToWorker): void {
    slot.port.postMessage(m);
  }

  private assign(t: number, slot: Slot): void {
    if (!this.job) return;
    const work = this.job.workFor(t, this.threads, slot.round);
    slot.work = work;
    slot.workId = this.nextWorkId++;
    this.post(slot, {
      type: 'work',
      workId: slot.workId,
      header: work.header,
      target: work.shareTargetLe,
      nonceStart: work.nonceStart,
      nonceCount: work.nonceCount,
    });
  }

  /** Hash this job from now on (replaces whatever was running). */
  setJob(job: Job): void {
    this.job = job;
    // Rounds only ever grow, so a re-issued job (same id after a difficulty raise or a new
    // extranonce) gets fresh extranonce2 values and never repeats a share already submitted.
    this.slots.forEach((slot, t) => {
      slot.round = ++this.roundCounter;
      this.assign(t, slot);
    });
  }

  /** Stop hashing until the next job (e.g. no pool connection). */
  idle(): void {
    this.job = null;
    for (const slot of this.slots) {
      slot.work = null;
      slot.workId = this.nextWorkId++;
      this.post(slot, { type: 'idle' });
    }
  }

  get currentJob(): Job | null {
    return this.job;
  }

  private onReport(t: number, slot: Slot, m: FromWorker): void {
    if (m.type !== 'report') return;
    if (m.hashes > 0) this.opts.onHashes(t, m.hashes);
    if (m.workId !== slot.workId || !slot.work || !this.job) return; // result of replaced work
    for (const f of m.found) {
      const hash = new Uint8Array(f.hash);
      const h = leBytesToBigInt(hash);
      this.opts.onFound({ work: slot.work, job: this.job, thread: t, nonce: f.nonce, hashLe: hash, isBlock: h <= slot.work.blockTarget });
    }
    if (m.exhausted) {
      slot.round = ++this.roundCounter;
      this.assign(t, slot);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) this.post(slot, { type: 'exit' });
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => 0)));
    this.slots = [];
  }
}
