import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { StoreMetrics } from './metrics.js';
import { PENDING_SCHEMAS, type PendingItem, type PendingKind } from './schemas.js';

export const SPILL_FILE = 'history-spill.jsonl';

// Keys whose ISO strings are turned back into Dates when a spilled line is read.
const DATE_KEYS = new Set(['windowStart', 'time', 'resolvedAt']);
const READ_CHUNK = 1 << 20;

function serialize(item: PendingItem): string {
  return `${JSON.stringify({ k: item.kind, d: item.doc })}\n`;
}

function revive(key: string, value: unknown): unknown {
  return DATE_KEYS.has(key) && typeof value === 'string' ? new Date(value) : value;
}

/** A batch handed to the writer; `ack` with it once written. */
export interface BufferBatch {
  items: PendingItem[];
  source: 'memory' | 'spill';
  /** Mode generation the batch was taken in: a mode switch since then makes its ack a no-op. */
  generation: number;
  /** spill: file offset just past the batch's last line. */
  endOffset: number;
}

/**
 * Pending writes, in order. Memory mode: a bounded in-memory queue. When it would overflow, the
 * queue and everything after it go to an append-only JSON-lines file (fsync'd per append), and
 * batches are read back from the file in order until it is drained; then memory mode again. So
 * at any time the pending items are either all in memory or all in the file, and order holds.
 * Delivery is at-least-once (a batch in flight during a switch is written twice); the writer's
 * idempotent keys make that exactly-once in the database.
 */
export class WriteBuffer {
  private memory: PendingItem[] = [];
  private file: FileHandle | undefined;
  private fileSize = 0;
  private readOffset = 0;
  private spillPending = 0;
  private generation = 0;
  private lock: Promise<unknown> = Promise.resolve();
  readonly spillPath: string;

  constructor(
    private readonly opts: { spillDir: string; maxMemoryDocuments: number; maxSpillBytes: number },
    private readonly metrics: StoreMetrics,
    private readonly logger: Logger,
  ) {
    this.spillPath = path.join(opts.spillDir, SPILL_FILE);
  }

  /** Serializes file operations (appends, reads, truncation) with each other. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Opens the spill directory; a spill file left by an earlier process is replayed first. */
  async open(): Promise<{ replaying: number }> {
    await mkdir(this.opts.spillDir, { recursive: true });
    return this.exclusive(async () => {
      let size: number;
      try {
        size = (await stat(this.spillPath)).size;
      } catch {
        size = 0;
      }
      if (size === 0) return { replaying: 0 };
      const fh = await open(this.spillPath, 'r+');
      // A crash mid-append can leave a torn last line: cut the file back to the last newline.
      const { complete, lines } = await scanLines(fh, size);
      if (complete < size) {
        await fh.truncate(complete);
        await fh.sync();
        this.logger.warn({ spillFile: this.spillPath, cutBytes: size - complete }, 'history store: dropped a torn last line of the spill file');
      }
      this.file = fh;
      this.fileSize = complete;
      this.readOffset = 0;
      this.spillPending = lines;
      this.generation++;
      this.updateGauges();
      if (lines > 0) this.logger.info({ spillFile: this.spillPath, documents: lines }, 'history store: replaying documents spilled by an earlier run');
      return { replaying: lines };
    });
  }

  get pending(): number {
    return this.memory.length + this.spillPending;
  }

  get spilling(): boolean {
    return this.file !== undefined;
  }

  counts(): { memory: number; spill: number } {
    return { memory: this.memory.length, spill: this.spillPending };
  }

  private updateGauges(): void {
    this.metrics.buffered.set({ location: 'memory' }, this.memory.length);
    this.metrics.buffered.set({ location: 'spill' }, this.spillPending);
  }

  /** Queues items; returns how many were dropped because the spill file reached its bound. */
  push(items: readonly PendingItem[]): Promise<number> {
    if (items.length === 0) return Promise.resolve(0);
    return this.exclusive(async () => {
      if (!this.file && this.memory.length + items.length <= this.opts.maxMemoryDocuments) {
        this.memory.push(...items);
        this.updateGauges();
        return 0;
      }
      let toSpill: PendingItem[];
      if (!this.file) {
        toSpill = [...this.memory, ...items];
        this.logger.warn(
          { spillFile: this.spillPath, memoryDocuments: this.memory.length },
          'history store: memory buffer full; spilling pending documents to disk',
        );
      } else {
        toSpill = [...items];
      }
      const dropped = await this.append(toSpill);
      if (this.memory.length > 0 && this.file) {
        this.memory = [];
        this.generation++;
      }
      this.updateGauges();
      return dropped;
    });
  }

  /** Appends to the spill file and fsyncs; items past maxSpillBytes are dropped and counted. */
  private async append(items: PendingItem[]): Promise<number> {
    if (!this.file) {
      // Created with a+ (never clobbers), then reopened r+ because O_APPEND ignores the positional
      // writes that compaction needs.
      await (await open(this.spillPath, 'a+')).close();
      this.file = await open(this.spillPath, 'r+');
      this.fileSize = (await this.file.stat()).size;
      this.readOffset = 0;
      this.spillPending = 0;
      this.generation++;
    }
    const lines: string[] = [];
    let bytes = 0;
    let dropped = 0;
    for (const item of items) {
      const line = serialize(item);
      const len = Buffer.byteLength(line);
      if (this.fileSize + bytes + len > this.opts.maxSpillBytes) {
        dropped++;
        continue;
      }
      lines.push(line);
      bytes += len;
    }
    if (lines.length > 0) {
      await this.file.write(lines.join(''), this.fileSize);
      await this.file.sync();
      this.fileSize += bytes;
      this.spillPending += lines.length;
      this.metrics.spilled.inc(lines.length);
    }
    if (dropped > 0) {
      this.metrics.dropped.inc({ reason: 'spill_full' }, dropped);
      this.logger.error({ spillFile: this.spillPath, dropped, maxSpillBytes: this.opts.maxSpillBytes }, 'history store: spill file full; documents dropped');
    }
    return dropped;
  }

  /** The oldest pending items (up to max), without removing them. */
  nextBatch(max: number): Promise<BufferBatch | undefined> {
    return this.exclusive(async () => {
      if (!this.file) {
        if (this.memory.length === 0) return undefined;
        return { items: this.memory.slice(0, max), source: 'memory' as const, generation: this.generation, endOffset: 0 };
      }
      const items: PendingItem[] = [];
      let offset = this.readOffset;
      while (items.length < max && offset < this.fileSize) {
        const len = Math.min(READ_CHUNK, this.fileSize - offset);
        const buf = Buffer.alloc(len);
        const { bytesRead } = await this.file.read(buf, 0, len, offset);
        let start = 0;
        let consumedAny = false;
        for (let nl = buf.indexOf(10, start); nl !== -1 && nl < bytesRead && items.length < max; nl = buf.indexOf(10, start)) {
          const line = buf.subarray(start, nl).toString('utf8');
          start = nl + 1;
          consumedAny = true;
          const item = this.parseLine(line, offset + start);
          if (item) items.push(item);
        }
        if (!consumedAny) throw new Error(`spill file ${this.spillPath}: line at offset ${offset} is longer than ${READ_CHUNK} bytes`);
        offset += start;
      }
      return { items, source: 'spill' as const, generation: this.generation, endOffset: offset };
    });
  }

  private parseLine(line: string, at: number): PendingItem | undefined {
    try {
      const raw = JSON.parse(line, revive) as { k: PendingKind; d: unknown };
      const schema = PENDING_SCHEMAS[raw.k];
      if (!schema) throw new Error(`unknown kind ${String(raw.k)}`);
      return { kind: raw.k, doc: schema.parse(raw.d) } as PendingItem;
    } catch (err) {
      this.metrics.dropped.inc({ reason: 'corrupt_spill_line' }, 1);
      this.logger.error({ spillFile: this.spillPath, offset: at, err }, 'history store: unreadable spill line skipped');
      return undefined;
    }
  }

  /** Removes a written batch. When the spill file is drained it is deleted and memory mode resumes. */
  ack(batch: BufferBatch): Promise<void> {
    return this.exclusive(async () => {
      if (batch.generation !== this.generation) return; // mode switched; the items are still pending
      if (batch.source === 'memory') {
        this.memory.splice(0, batch.items.length);
      } else if (this.file) {
        this.readOffset = batch.endOffset;
        this.spillPending = Math.max(0, this.spillPending - batch.items.length);
        if (this.readOffset >= this.fileSize) {
          await this.file.truncate(0);
          await this.file.sync();
          await this.file.close();
          this.file = undefined;
          this.fileSize = 0;
          this.readOffset = 0;
          this.spillPending = 0;
          this.generation++;
          this.logger.info({ spillFile: this.spillPath }, 'history store: spill file replayed; back to the memory buffer');
        }
      }
      this.updateGauges();
    });
  }

  /**
   * On close: whatever is still in memory goes to the spill file so the next process replays it.
   * In spill mode the unread part of the file already holds everything; it is compacted so the
   * next run does not rewrite what this run already wrote.
   */
  persistAndClose(): Promise<number> {
    return this.exclusive(async () => {
      let persisted = 0;
      if (!this.file && this.memory.length > 0) {
        const items = this.memory;
        this.memory = [];
        await this.append(items);
        persisted = items.length;
      }
      if (this.file) {
        if (this.readOffset > 0) await compact(this.file, this.readOffset, this.fileSize);
        persisted = Math.max(persisted, this.spillPending);
        await this.file.close();
        this.file = undefined;
      }
      this.updateGauges();
      return persisted;
    });
  }
}

/** Moves the unread tail [from, size) of the file to its start and truncates. */
async function compact(fh: FileHandle, from: number, size: number): Promise<void> {
  let readAt = from;
  let writeAt = 0;
  const buf = Buffer.alloc(READ_CHUNK);
  while (readAt < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, size - readAt), readAt);
    if (bytesRead === 0) break;
    await fh.write(buf.subarray(0, bytesRead), 0, bytesRead, writeAt);
    readAt += bytesRead;
    writeAt += bytesRead;
  }
  await fh.truncate(writeAt);
  await fh.sync();
}

/** Counts complete lines and returns the offset just past the last newline. */
async function scanLines(fh: FileHandle, size: number): Promise<{ complete: number; lines: number }> {
  const buf = Buffer.alloc(READ_CHUNK);
  let offset = 0;
  let lines = 0;
  let complete = 0;
  while (offset < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, size - offset), offset);
    if (bytesRead === 0) break;
    for (let i = 0; i < bytesRead; i++) {
      if (buf[i] === 10) {
        lines++;
        complete = offset + i + 1;
      }
    }
    offset += bytesRead;
  }
  return { complete, lines };
}
