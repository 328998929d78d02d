// A tiny Stratum V1 client for testing the test pool: written from the protocol, not from miner/
// and not from the pool's own job code, so the two check each other (and litecoind checks both).
import { createHash, scryptSync } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface RpcAnswer {
  id: unknown;
  result: unknown;
  error: [number, string, unknown] | null;
}

export interface Notification {
  method: string;
  params: unknown[];
}

export interface NotifyJob {
  jobId: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  branch: string[];
  version: string;
  nbits: string;
  ntime: string;
  clean: boolean;
}

export interface FoundShare {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** Header hash (sha256d) in display order: the block hash if the share is a block. */
  blockHash: string;
  /** scrypt PoW as a number. */
  pow: bigint;
}

const dsha = (b: Buffer): Buffer => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();

export function shareTarget(difficulty: number): bigint {
  // diff 1 for scrypt pools = 0x0000ffff << 224; scale fractional difficulties with 2^32.
  return ((0xffffn << 224n) << 32n) / BigInt(Math.round(difficulty * 2 ** 32));
}

export class StratumTestClient {
  readonly notifications: Notification[] = [];
  readonly lines: string[] = [];
  closed = false;
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, (a: RpcAnswer) => void>();
  private readonly waiters = new Set<() => void>();
  extranonce1 = '';
  extranonce2Size = 0;
  difficulty = 1;
  subscriptionId = '';

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim()) this.onLine(line);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, opts: { host?: string; tls?: { ca: Buffer | string; servername: string } } = {}): Promise<StratumTestClient> {
    const host = opts.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const socket = opts.tls
        ? tls.connect({ host, port, ca: opts.tls.ca, servername: opts.tls.servername }, () => resolve(new StratumTestClient(socket)))
        : net.connect({ host, port }, () => resolve(new StratumTestClient(socket)));
      socket.once('error', reject);
    });
  }

  private onLine(line: string): void {
    this.lines.push(line);
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return; // kept in `lines` for the test to look at
    }
    const msg = parsed as { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: RpcAnswer['error'] };
    if (typeof msg.method === 'string') {
      const params = msg.params ?? [];
      this.notifications.push({ method: msg.method, params });
      if (msg.method === 'mining.set_difficulty') this.difficulty = Number(params[0]);
      if (msg.method === 'mining.set_extranonce') {
        this.extranonce1 = String(params[0]);
        this.extranonce2Size = Number(params[1]);
      }
    } else if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
      this.pending.get(msg.id)!({ id: msg.id, result: msg.result, error: msg.error ?? null });
      this.pending.delete(msg.id);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves when `pred` holds (checked on every message), or rejects after the deadline. */
  waitFor<T>(what: string, pred: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const v = pred();
        if (v !== undefined && v !== false) {
          cleanup();
          resolve(v);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines: ${this.lines.slice(-5).join(' | ')}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => void check();
      this.waiters.add(waiter);
      check();
    });
  }

  request(method: string, params: unknown[], timeoutMs = 30_000): Promise<RpcAnswer> {
    const id = this.nextId++;
    this.socket.write(JSON.stringify({ id, method, params }) + '\n');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${method} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
  }

  writeRaw(data: string): void {
    this.socket.write(data);
  }

  async subscribe(sessionId?: string): Promise<RpcAnswer> {
    const a = await this.request('mining.subscribe', sessionId ? ['stratum-test-client/1', sessionId] : ['stratum-test-client/1']);
    if (a.error === null) {
      const r = a.result as [Array<[string, string]>, string, number];
      this.subscriptionId = r[0].find((x) => x[0] === 'mining.notify')?.[1] ?? '';
      this.extranonce1 = r[1];
      this.extranonce2Size = r[2];
    }
    return a;
  }

  authorize(worker: string, password = 'x'): Promise<RpcAnswer> {
    return this.request('mining.authorize', [worker, password]);
  }

  jobs(): NotifyJob[] {
    return this.notifications
      .filter((n) => n.method === 'mining.notify')
      .map(({ params: p }) => ({
        jobId: String(p[0]),
        prevhash: String(p[1]),
        coinb1: String(p[2]),
        coinb2: String(p[3]),
        branch: p[4] as string[],
        version: String(p[5]),
        nbits: String(p[6]),
        ntime: String(p[7]),
        clean: p[8] === true,
      }));
  }

  latestJob(): NotifyJob | undefined {
    return this.jobs().at(-1);
  }

  waitForJob(after = 0, timeoutMs = 20_000): Promise<NotifyJob> {
    return this.waitFor('a mining.notify', () => this.jobs()[after], timeoutMs);
  }

  submit(worker: string, s: Pick<FoundShare, 'jobId' | 'extranonce2' | 'ntime' | 'nonce'>): Promise<RpcAnswer> {
    return this.request('mining.submit', [worker, s.jobId, s.extranonce2, s.ntime, s.nonce]);
  }

  /** Header for a job, from the notify fields as a miner reads them. */
  header(job: NotifyJob, extranonce2: string, ntime: string, nonce: number): Buffer {
    const coinbase = Buffer.from(job.coinb1 + this.extranonce1 + extranonce2 + job.coinb2, 'hex');
    let root = dsha(coinbase);
    for (const step of job.branch) root = dsha(Buffer.concat([root, Buffer.from(step, 'hex')]));
    // Stratum's prevhash is eight 32-bit words, each to be read little-endian.
    const prev = Buffer.from(job.prevhash, 'hex');
    for (let i = 0; i < 32; i += 4) prev.subarray(i, i + 4).reverse();
    const h = Buffer.alloc(80);
    h.writeUInt32LE(Number.parseInt(job.version, 16), 0);
    prev.copy(h, 4);
    root.copy(h, 36);
    h.writeUInt32LE(Number.parseInt(ntime, 16), 68);
    h.writeUInt32LE(Number.parseInt(job.nbits, 16), 72);
    h.writeUInt32LE(nonce, 76);
    return h;
  }

  /**
   * Brute-forces nonces until the scrypt PoW meets `target` (or, with `below: false`, until it
   * does NOT meet it, to make a deliberately bad share).
   */
  findShare(job: NotifyJob, opts: { target?: bigint; extranonce2?: string; below?: boolean; startNonce?: number } = {}): FoundShare {
    const target = opts.target ?? shareTarget(this.difficulty);
    const extranonce2 = opts.extranonce2 ?? '00'.repeat(this.extranonce2Size);
    const below = opts.below ?? true;
    for (let nonce = opts.startNonce ?? 0; nonce < 2 ** 32; nonce++) {
      const h = this.header(job, extranonce2, job.ntime, nonce);
      const pow = BigInt(
        '0x' +
          Buffer.from(scryptSync(h, h, 32, { N: 1024, r: 1, p: 1 }))
            .reverse()
            .toString('hex'),
      );
      if (pow <= target === below) {
        return {
          jobId: job.jobId,
          extranonce2,
          ntime: job.ntime,
          nonce: nonce.toString(16).padStart(8, '0'),
          blockHash: Buffer.from(dsha(h)).reverse().toString('hex'),
          pow,
        };
      }
    }
    throw new Error('nonce space exhausted');
  }

  close(): void {
    this.socket.destroy();
  }
}
