// A real Stratum V1 pool server for tests (TCP or TLS). Jobs come from litecoind's
// getblocktemplate; every share is checked here independently (coinbase, merkle root, header,
// scrypt) and block candidates go to litecoind's submitblock, so litecoind's consensus code judges
// the miner's work. Deliberately shares no code with miner/.
import { scryptSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { difficultyToTarget, hexToBuf, isHex, leToBigInt, reversed, sha256d } from './bytes.js';
import { assembleBlock, buildJob, buildSyntheticJob, decodeTemplate, headerFor, merkleRoot, notifyParams, type BlockTemplate, type Job } from './job.js';
import { makeSelfSignedCert, makeTestPki, TEST_POOL_SERVER_NAME, type TestCertificateKind } from './tls-cert.js';

/**
 * What the pool needs from litecoind. The harness's `Litecoind` (test/support/index.ts) fits;
 * declared structurally so the pool does not depend on how the harness starts the node.
 */
export interface LitecoindRpc {
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  newAddress(): Promise<string>;
}

export interface StratumPoolOptions {
  /** Address to listen on (default 127.0.0.1; the e2e tier uses the node's bridge address). */
  host?: string;
  /** Jobs from getblocktemplate + submitblock; without it synthetic jobs and no block submission. */
  litecoind?: LitecoindRpc;
  /**
   * Default: litecoind.newAddress(). (On a fresh chain, which litecoind treats as initial block
   * download and so gives no templates, the pool mines one block to this address first.)
   */
  payoutAddress?: string;
  /**
   * true: a self-signed certificate made with the openssl CLI; the pool exposes caFile and
   * serverName. An object: a certificate from a private test CA (tls-cert.ts makeTestPki; caFile
   * is that CA): `certificate` valid (default), expired or wrong-host; `legacyVersion` 'TLSv1.1'
   * serves TLS 1.1 only (at OpenSSL security level 0, the only level that still allows it).
   */
  tls?: boolean | { certificate?: TestCertificateKind; legacyVersion?: 'TLSv1.1' };
  /** Initial share difficulty (scrypt convention). Default 0.001. */
  difficulty?: number;
  extranonce1Size?: number;
  extranonce2Size?: number;
  /** Listen port (default: a free one chosen by the OS). */
  port?: number;
  /**
   * At the first MWEB block (regtest height 432) send 0.01 LTC from litecoind's wallet to an MWEB
   * address so litecoind can build the block. Default true.
   */
  mwebPegIn?: boolean;
  /** How often to look for a new chain tip (ms). Default 200. */
  pollIntervalMs?: number;
  behavior?: {
    closeAfterAuthorize?: boolean;
    neverSendJob?: boolean;
    rejectAll?: { code: number; message: string };
    /** Answer every mining.authorize with error 24 (bad credentials). */
    rejectAuthorize?: boolean;
    /** Stalled pool: connections stay open, but nothing is answered and no job is sent. */
    stall?: boolean;
    /** Every mining.notify is malformed (bad prevhash), so no job is usable. */
    invalidJobs?: boolean;
  };
}

export interface ShareRecord {
  worker: string;
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** Difficulty the share was credited at (accepted) or checked against (rejected). */
  difficulty: number;
  result: 'accepted' | 'rejected';
  reason?: string;
  isBlock: boolean;
  receivedAt: number;
}

/** A block candidate the pool submitted, with litecoind's verdict. */
export interface BlockRecord {
  /** Block hash (sha256d of the header) in display order. */
  hash: string;
  height: number;
  /** submitblock answered null. */
  accepted: boolean;
  /**
   * litecoind's answer otherwise: "inconclusive" (valid, but another block at that height came
   * first), "duplicate", or the consensus rule that failed, e.g. "bad-txnmrklroot".
   */
  reason?: string;
}

export interface StratumPool {
  url: string;
  host: string;
  port: number;
  caFile?: string;
  serverName?: string;
  shares: ShareRecord[];
  blocks: BlockRecord[];
  /** mining.authorize calls seen (worker and password), in order. */
  logins: Array<{ worker: string; password: string }>;
  /** mining.subscribe calls seen, in order; resumed: the session id asked for was known. */
  subscriptions: Array<{ userAgent: string; sessionId?: string; resumed: boolean; extranonce1: string }>;
  /** Problems inside the pool (template fetch failures and the like), newest last. */
  errors: string[];
  payoutAddress?: string;
  payoutScriptHex: string;
  /** Connected clients (TLS: after the handshake). */
  clientCount(): number;
  /** Workers authorized on the connections open now. */
  authorizedWorkers(): string[];
  /** The job most recently sent (undefined before the first template). */
  currentJob(): Job | undefined;
  difficulty(): number;
  /**
   * Sends mining.set_difficulty to every working client. Shares on jobs sent before are still
   * credited at the difficulty they were sent with, so miners that apply it only from the next
   * job (as cpuminer does) see no rejections.
   */
  setDifficulty(d: number): void;
  /**
   * Fetches a fresh template (litecoind) or makes a synthetic job and sends it; clean: true
   * makes all earlier jobs stale (error 21). A new chain tip always gives a clean job on its own.
   */
  sendNewJob(opts?: { clean?: boolean }): Promise<void>;
  /**
   * mining.set_extranonce to every subscribed client, then a clean job built for the new sizes.
   * Jobs sent before keep the extranonce they were sent with until that clean job replaces them.
   */
  setExtranonce(extranonce1Hex: string, extranonce2Size: number): void;
  /** client.reconnect [host, port, waitSeconds] (defaults: this pool, 0 s) to every client. */
  sendReconnect(opts?: { host?: string; port?: number; waitSeconds?: number }): void;
  /** client.show_message to every client. */
  showMessage(text: string): void;
  /** Writes the line as is (newline added if missing) to every client. */
  sendRaw(line: string): void;
  disconnectAll(): void;
  /** Changes the behaviour of the running pool (e.g. stall it, or end a stall). */
  setBehavior(b: NonNullable<StratumPoolOptions['behavior']>): void;
  stop(): Promise<void>;
}

export const StratumError = {
  OTHER: 20,
  JOB_NOT_FOUND: 21,
  DUPLICATE_SHARE: 22,
  LOW_DIFFICULTY: 23,
  UNAUTHORIZED: 24,
  NOT_SUBSCRIBED: 25,
} as const;

/** Lines longer than this are not Stratum; the client is cut off like a real pool would. */
const MAX_LINE_BYTES = 64 * 1024;
/** Old non-clean jobs kept valid for late shares. */
const MAX_JOBS = 32;

interface SentJob {
  extranonce1: Buffer;
  extranonce2Size: number;
  difficulty: number;
}

interface Session {
  socket: net.Socket;
  buffer: string;
  subscribed: boolean;
  subscriptionId: string;
  extranonce1: Buffer;
  extranonce2Size: number;
  extranonceSubscribed: boolean;
  authorized: Set<string>;
  difficulty: number;
  working: boolean;
  jobsSent: Map<string, SentJob>;
  queue: Promise<void>;
}

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function scryptPow(header: Buffer): Buffer {
  return scryptSync(header, header, 32, { N: 1024, r: 1, p: 1 });
}

export async function startStratumPool(opts: StratumPoolOptions = {}): Promise<StratumPool> {
  const behavior = opts.behavior ?? {};
  const ltc = opts.litecoind;
  let extranonce1Size = opts.extranonce1Size ?? 4;
  let extranonce2Size = opts.extranonce2Size ?? 4;
  if (!Number.isInteger(extranonce1Size) || extranonce1Size < 1 || extranonce1Size > 16) {
    throw new Error(`extranonce1Size must be an integer 1..16, got ${extranonce1Size}`);
  }
  if (!Number.isInteger(extranonce2Size) || extranonce2Size < 1 || extranonce2Size > 16) {
    throw new Error(`extranonce2Size must be an integer 1..16, got ${extranonce2Size}`);
  }
  let poolDifficulty = opts.difficulty ?? 0.001;
  difficultyToTarget(poolDifficulty); // validates

  const shares: ShareRecord[] = [];
  const blocks: BlockRecord[] = [];
  const logins: Array<{ worker: string; password: string }> = [];
  const subscriptions: StratumPool['subscriptions'] = [];
  const errors: string[] = [];
  const sessions = new Set<Session>();
  const resumable = new Map<string, Buffer>(); // subscription id -> extranonce1
  const jobs = new Map<string, Job>();
  const seenShares = new Map<string, Set<string>>(); // job id -> share keys
  let current: Job | undefined;
  let jobCounter = 0;
  let syntheticHeight = 1;
  let extranonceCounter = Math.floor(Math.random() * 0xffffff);
  let stopped = false;

  const noteError = (msg: string): void => {
    errors.push(`${new Date().toISOString()} ${msg}`);
    if (errors.length > 200) errors.splice(0, errors.length - 200);
  };

  // ---- payout --------------------------------------------------------------------------------
  let payoutAddress: string | undefined;
  let payoutScript: Buffer = Buffer.from([0x51]); // OP_TRUE for synthetic jobs
  if (ltc) {
    payoutAddress = opts.payoutAddress ?? (await ltc.newAddress());
    payoutScript = await scriptPubKeyOf(ltc, payoutAddress);
  } else if (opts.payoutAddress) {
    payoutAddress = opts.payoutAddress;
  }

  // ---- jobs ----------------------------------------------------------------------------------
  const nextJobId = (): string => (++jobCounter).toString(16);

  const getTemplate = async (): Promise<BlockTemplate> => decodeTemplate(await ltc!.rpc('getblocktemplate', [{ rules: ['segwit', 'mweb'] }]));

  async function fetchTemplate(): Promise<BlockTemplate> {
    try {
      return await getTemplate();
    } catch (err) {
      const msg = (err as Error).message;
      if (/initial sync|waiting for blocks/i.test(msg)) {
        // A fresh regtest chain counts as "initial block download" until it has a block, and
        // litecoind refuses templates meanwhile; one block ends that.
        try {
          await ltc!.rpc('generatetoaddress', [1, payoutAddress]);
          return await getTemplate();
        } catch (retryErr) {
          throw new Error(`getblocktemplate failed: ${msg}; mining one block to leave initial block download did not help: ` + (retryErr as Error).message);
        }
      }
      if (!/bad-txns-vin-empty/.test(msg)) throw new Error(`getblocktemplate failed: ${msg}`);
      // The first block after MWEB activates (height 432 on regtest) needs an MWEB peg-in in the
      // mempool: its HogEx transaction would otherwise have no inputs. Make one from the wallet.
      const hint =
        'the next block is the first MWEB block (regtest activates MWEB at height 432) and litecoind ' +
        'can only build it when its mempool holds a peg-in (coins sent to an MWEB address)';
      if (opts.mwebPegIn === false) throw new Error(`getblocktemplate failed: ${msg}; ${hint}`);
      try {
        const mwebAddress = await ltc!.rpc<string>('getnewaddress', ['', 'mweb']);
        await ltc!.rpc('sendtoaddress', [mwebAddress, 0.01]);
        return await getTemplate();
      } catch (pegInErr) {
        throw new Error(
          `getblocktemplate failed: ${msg}; ${hint}, and the pool's automatic peg-in failed: ` +
            `${(pegInErr as Error).message} (does litecoind's wallet hold mature coins?)`,
        );
      }
    }
  }

  async function makeJob(clean: boolean): Promise<Job> {
    const e = extranonce1Size + extranonce2Size;
    if (!ltc) {
      if (clean || !current) syntheticHeight++;
      const job = buildSyntheticJob(nextJobId(), syntheticHeight, e);
      if (!clean && current) job.prevHashDisplay = current.prevHashDisplay;
      return job;
    }
    return buildJob(nextJobId(), await fetchTemplate(), payoutScript, e);
  }

  function installJob(job: Job, clean: boolean): void {
    if (clean) {
      jobs.clear();
      seenShares.clear();
    }
    jobs.set(job.id, job);
    seenShares.set(job.id, new Set());
    while (jobs.size > MAX_JOBS) {
      const oldest = jobs.keys().next().value as string;
      jobs.delete(oldest);
      seenShares.delete(oldest);
    }
    current = job;
    for (const s of sessions) if (s.working) sendJob(s, job, clean);
  }

  // One template refresh at a time; callers queue behind it.
  let refreshing: Promise<void> = Promise.resolve();
  function refresh(clean: boolean, onlyIfTipIsNot?: string): Promise<void> {
    const run = refreshing.then(async () => {
      if (stopped) return;
      // Queued behind another refresh that may already have moved to this tip.
      if (onlyIfTipIsNot !== undefined && current?.prevHashDisplay === onlyIfTipIsNot) return;
      const job = await makeJob(clean);
      const tipChanged = current !== undefined && job.prevHashDisplay !== current.prevHashDisplay;
      installJob(job, clean || tipChanged);
    });
    refreshing = run.catch(() => undefined);
    return run;
  }

  let tipCheckRunning = false;
  let tipCheckAgain = false;
  async function checkTip(): Promise<void> {
    if (!ltc || stopped) return;
    if (tipCheckRunning) {
      // The running check may have read the tip before our own block landed; look once more.
      tipCheckAgain = true;
      return;
    }
    tipCheckRunning = true;
    try {
      do {
        tipCheckAgain = false;
        const best = await ltc.rpc<string>('getbestblockhash');
        if (current && best !== current.prevHashDisplay && !stopped) await refresh(true, best);
      } while (tipCheckAgain && !stopped);
    } catch (err) {
      if (!stopped) noteError((err as Error).message);
    } finally {
      tipCheckRunning = false;
    }
  }

  // ---- sending -------------------------------------------------------------------------------
  function write(s: Session, obj: unknown): void {
    if (s.socket.destroyed || !s.socket.writable) return;
    // A client that never reads would make us buffer without bound; drop it like a real pool.
    if (s.socket.writableLength > 8 * 1024 * 1024) {
      s.socket.destroy();
      return;
    }
    s.socket.write(JSON.stringify(obj) + '\n');
  }
  const reply = (s: Session, id: unknown, result: unknown): void => write(s, { id, result, error: null });
  const replyError = (s: Session, id: unknown, code: number, message: string): void => write(s, { id, result: null, error: [code, message, null] });
  const notify = (s: Session, method: string, params: unknown[]): void => write(s, { id: null, method, params });

  function sendJob(s: Session, job: Job, clean: boolean): void {
    s.jobsSent.set(job.id, {
      extranonce1: s.extranonce1,
      extranonce2Size: s.extranonce2Size,
      difficulty: s.difficulty,
    });
    if (s.jobsSent.size > MAX_JOBS * 4) {
      for (const id of s.jobsSent.keys()) if (!jobs.has(id)) s.jobsSent.delete(id);
    }
    if (behavior.stall) return;
    const params = notifyParams(job, clean);
    if (behavior.invalidJobs) params[1] = 'not-a-prevhash';
    notify(s, 'mining.notify', params);
  }

  function startWork(s: Session): void {
    if (s.working || behavior.neverSendJob) return;
    s.working = true;
    notify(s, 'mining.set_difficulty', [s.difficulty]);
    if (current) sendJob(s, current, true);
  }

  function allocateExtranonce1(): Buffer {
    extranonceCounter = (extranonceCounter + 1) % 2 ** 32;
    const b = Buffer.alloc(extranonce1Size);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(extranonceCounter);
    counter.copy(b, Math.max(0, extranonce1Size - 4), Math.max(0, 4 - extranonce1Size));
    return b;
  }

  // ---- requests ------------------------------------------------------------------------------
  async function handleLine(s: Session, line: string): Promise<void> {
    const text = line.trim();
    if (text === '' || behavior.stall) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      replyError(s, null, StratumError.OTHER, 'Parse error: line is not JSON');
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      replyError(s, null, StratumError.OTHER, 'Invalid request: not a JSON object');
      return;
    }
    const m = msg as { id?: unknown; method?: unknown; params?: unknown };
    const id = m.id ?? null;
    if (typeof m.method !== 'string') {
      if ('result' in m || 'error' in m) return; // a response to something we sent; ignore
      replyError(s, id, StratumError.OTHER, 'Invalid request: "method" must be a string');
      return;
    }
    const params = m.params ?? [];
    if (!Array.isArray(params)) {
      replyError(s, id, StratumError.OTHER, `Invalid request: "params" of ${m.method} must be an array`);
      return;
    }
    try {
      switch (m.method) {
        case 'mining.subscribe':
          return onSubscribe(s, id, params);
        case 'mining.authorize':
          return onAuthorize(s, id, params);
        case 'mining.extranonce.subscribe':
          s.extranonceSubscribed = true;
          return reply(s, id, true);
        case 'mining.suggest_difficulty':
          return reply(s, id, true);
        case 'mining.submit':
          return await onSubmit(s, id, params);
        default:
          return replyError(s, id, StratumError.OTHER, `Unknown method "${m.method.slice(0, 64)}"`);
      }
    } catch (err) {
      const e = err as Error;
      if (e instanceof RpcFailure) return replyError(s, id, e.code, e.message);
      noteError(`handling ${m.method}: ${e.stack ?? e.message}`);
      replyError(s, id, StratumError.OTHER, `Internal pool error: ${e.message}`);
    }
  }

  function onSubscribe(s: Session, id: unknown, params: unknown[]): void {
    const [userAgent, wanted] = params;
    const known = typeof wanted === 'string' ? resumable.get(wanted) : undefined;
    const resumed = typeof wanted === 'string' && known !== undefined && known.length === extranonce1Size;
    if (resumed) {
      s.subscriptionId = wanted;
      s.extranonce1 = known;
    } else if (!s.subscribed) {
      s.extranonce1 = allocateExtranonce1();
      s.subscriptionId =
        s.extranonce1.toString('hex') +
        Math.floor(Math.random() * 0xffff)
          .toString(16)
          .padStart(4, '0');
    }
    s.extranonce2Size = extranonce2Size;
    s.subscribed = true;
    resumable.set(s.subscriptionId, s.extranonce1);
    subscriptions.push({
      userAgent: typeof userAgent === 'string' ? userAgent : '',
      ...(typeof wanted === 'string' ? { sessionId: wanted } : {}),
      resumed,
      extranonce1: s.extranonce1.toString('hex'),
    });
    reply(s, id, [
      [
        ['mining.set_difficulty', s.subscriptionId],
        ['mining.notify', s.subscriptionId],
      ],
      s.extranonce1.toString('hex'),
      s.extranonce2Size,
    ]);
    if (s.authorized.size > 0) startWork(s);
  }

  function onAuthorize(s: Session, id: unknown, params: unknown[]): void {
    const [worker, password] = params;
    if (typeof worker !== 'string' || worker === '') {
      throw new RpcFailure(StratumError.OTHER, 'mining.authorize: worker name must be a non-empty string');
    }
    logins.push({ worker, password: typeof password === 'string' ? password : '' });
    if (behavior.rejectAuthorize) throw new RpcFailure(StratumError.UNAUTHORIZED, 'Unauthorized worker');
    s.authorized.add(worker);
    reply(s, id, true);
    if (behavior.closeAfterAuthorize) {
      s.socket.end();
      return;
    }
    if (s.subscribed) startWork(s);
  }

  async function onSubmit(s: Session, id: unknown, params: unknown[]): Promise<void> {
    const [worker, jobId, en2, ntimeHex, nonceHex] = params;
    const receivedAt = Date.now();
    const record = (result: 'accepted' | 'rejected', difficulty: number, reason?: string, isBlock = false): void => {
      shares.push({
        worker: String(worker ?? ''),
        jobId: String(jobId ?? ''),
        extranonce2: String(en2 ?? ''),
        ntime: String(ntimeHex ?? ''),
        nonce: String(nonceHex ?? ''),
        difficulty,
        result,
        ...(reason !== undefined ? { reason } : {}),
        isBlock,
        receivedAt,
      });
    };
    const reject = (code: number, message: string): void => {
      record('rejected', s.difficulty, message);
      replyError(s, id, code, message);
    };

    if (behavior.rejectAll) return reject(behavior.rejectAll.code, behavior.rejectAll.message);
    if (typeof worker !== 'string' || !s.authorized.has(worker)) {
      return reject(StratumError.UNAUTHORIZED, 'Unauthorized worker');
    }
    if (!s.subscribed) return reject(StratumError.NOT_SUBSCRIBED, 'Not subscribed');
    if (typeof jobId !== 'string') return reject(StratumError.OTHER, 'mining.submit: job_id must be a string');
    const job = jobs.get(jobId);
    const sent = s.jobsSent.get(jobId);
    if (!job || !sent) return reject(StratumError.JOB_NOT_FOUND, 'Job not found (stale)');
    if (!isHex(en2, sent.extranonce2Size)) {
      return reject(StratumError.OTHER, `Incorrect size of extranonce2 (want ${sent.extranonce2Size} bytes of hex)`);
    }
    if (!isHex(ntimeHex, 4)) return reject(StratumError.OTHER, 'ntime must be 8 hex digits');
    if (!isHex(nonceHex, 4)) return reject(StratumError.OTHER, 'nonce must be 8 hex digits');
    const ntime = Number.parseInt(ntimeHex, 16);
    if (ntime < job.mintime || ntime > job.curtime + 7200) return reject(StratumError.OTHER, 'ntime out of range');
    const nonce = Number.parseInt(nonceHex, 16);

    const key = `${sent.extranonce1.toString('hex')}:${en2.toLowerCase()}:${ntime}:${nonce}`;
    const seen = seenShares.get(jobId)!;
    if (seen.has(key)) return reject(StratumError.DUPLICATE_SHARE, 'Duplicate share');

    const { header, coinbase } = headerFor(job, {
      extranonce1: sent.extranonce1,
      extranonce2: Buffer.from(en2, 'hex'),
      ntime,
      nonce,
    });
    const pow = leToBigInt(scryptPow(header));
    // A share is good at the session's current difficulty or at the one its job was sent with
    // (miners differ in when a mining.set_difficulty takes effect).
    let credited: number | undefined;
    for (const d of [s.difficulty, sent.difficulty].sort((a, b) => b - a)) {
      if (pow <= difficultyToTarget(d)) {
        credited = d;
        break;
      }
    }
    if (credited === undefined) {
      return reject(StratumError.LOW_DIFFICULTY, 'Low difficulty share');
    }
    seen.add(key);
    const isBlock = pow <= job.blockTarget;
    // Block first, so that whoever sees the share recorded also sees litecoind's verdict.
    if (isBlock && job.submittable) await submitBlock(job, header, coinbase);
    record('accepted', credited, undefined, isBlock);
    reply(s, id, true);
  }

  async function submitBlock(job: Job, header: Buffer, coinbase: Buffer): Promise<void> {
    const hash = reversed(sha256d(header)).toString('hex');
    const block: BlockRecord = { hash, height: job.height, accepted: false };
    // Self-check the assembly: the header's merkle root must be the root of all txids.
    const txids = [sha256d(coinbase), ...job.txids];
    if (!merkleRoot(txids).equals(header.subarray(36, 68))) {
      block.reason = 'test pool bug: merkle root from branch differs from full tree';
      noteError(block.reason);
    } else {
      try {
        // null means accepted; otherwise litecoind's reason ("inconclusive" for a valid block
        // that lost the race to be the tip, "duplicate", or a consensus rule like "bad-txnmrklroot").
        const verdict = await ltc!.rpc<string | null>('submitblock', [assembleBlock(job, header, coinbase).toString('hex')]);
        block.accepted = verdict === null;
        if (verdict !== null) block.reason = String(verdict);
        if (block.accepted) {
          // Work on the old tip is stale from this moment, before the next template is even
          // fetched: later shares on it get 21 instead of becoming orphan blocks.
          for (const [id, j] of jobs) {
            if (j.prevHashDisplay === job.prevHashDisplay) {
              jobs.delete(id);
              seenShares.delete(id);
            }
          }
        }
      } catch (err) {
        block.reason = `submitblock failed: ${(err as Error).message}`;
        noteError(block.reason);
      }
    }
    // Recorded with litecoind's verdict, never half-done.
    blocks.push(block);
    // Our block is the new tip: build on it at once rather than wait for the next tip poll.
    if (block.accepted) refresh(true, hash).catch((err: unknown) => noteError((err as Error).message));
    else void checkTip();
  }

  // ---- connections ---------------------------------------------------------------------------
  function onConnection(socket: net.Socket): void {
    if (stopped) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    const s: Session = {
      socket,
      buffer: '',
      subscribed: false,
      subscriptionId: '',
      extranonce1: Buffer.alloc(0),
      extranonce2Size,
      extranonceSubscribed: false,
      authorized: new Set(),
      difficulty: poolDifficulty,
      working: false,
      jobsSent: new Map(),
      queue: Promise.resolve(),
    };
    sessions.add(s);
    socket.on('data', (chunk: string) => {
      s.buffer += chunk;
      let nl: number;
      while ((nl = s.buffer.indexOf('\n')) >= 0) {
        const line = s.buffer.slice(0, nl);
        s.buffer = s.buffer.slice(nl + 1);
        if (line.length > MAX_LINE_BYTES) {
          replyError(s, null, StratumError.OTHER, `Line longer than ${MAX_LINE_BYTES} bytes`);
          continue;
        }
        // Requests of one connection are answered in order.
        s.queue = s.queue.then(() => handleLine(s, line)).catch((err: unknown) => noteError(String(err)));
      }
      if (s.buffer.length > MAX_LINE_BYTES) {
        replyError(s, null, StratumError.OTHER, `Line longer than ${MAX_LINE_BYTES} bytes; closing`);
        s.buffer = '';
        socket.removeAllListeners('data');
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
    socket.on('error', () => undefined); // resets from clients are normal
    socket.on('close', () => sessions.delete(s));
  }

  // The first job exists before anyone can connect.
  await refresh(true);

  let tmpDir: string | undefined;
  let caFile: string | undefined;
  let server: net.Server;
  if (opts.tls) {
    tmpDir = await mkdtemp(join(tmpdir(), 'stratum-pool-'));
    let serverOpts: tls.TlsOptions;
    if (opts.tls === true) {
      const cert = await makeSelfSignedCert(tmpDir);
      caFile = cert.certFile;
      serverOpts = { cert: cert.cert, key: cert.key };
    } else {
      const pki = await makeTestPki(tmpDir);
      caFile = pki.caFile;
      const cert = pki.certs[opts.tls.certificate ?? 'valid'];
      serverOpts = { cert: cert.cert, key: cert.key };
      if (opts.tls.legacyVersion)
        serverOpts = { ...serverOpts, minVersion: opts.tls.legacyVersion, maxVersion: opts.tls.legacyVersion, ciphers: 'DEFAULT@SECLEVEL=0' };
    }
    const tlsServer = tls.createServer(serverOpts, onConnection);
    tlsServer.on('tlsClientError', () => undefined); // failed handshakes are the client's problem
    server = tlsServer;
  } else {
    server = net.createServer(onConnection);
  }
  server.on('error', (err) => noteError(`server: ${err.message}`));
  // Every raw connection, including TLS handshakes that never finish, so stop() can end them all.
  const rawSockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    rawSockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => rawSockets.delete(socket));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  const poll = ltc ? setInterval(() => void checkTip(), opts.pollIntervalMs ?? 200) : undefined;
  poll?.unref();

  const pool: StratumPool = {
    url: `${opts.tls ? 'stratum+ssl' : 'stratum+tcp'}://${host}:${port}`,
    host,
    port,
    ...(caFile ? { caFile, serverName: TEST_POOL_SERVER_NAME } : {}),
    shares,
    blocks,
    logins,
    subscriptions,
    errors,
    ...(payoutAddress ? { payoutAddress } : {}),
    payoutScriptHex: payoutScript.toString('hex'),
    clientCount: () => sessions.size,
    authorizedWorkers: () => [...new Set([...sessions].flatMap((s) => [...s.authorized]))],
    currentJob: () => current,
    difficulty: () => poolDifficulty,
    setDifficulty(d: number) {
      difficultyToTarget(d); // validates
      poolDifficulty = d;
      for (const s of sessions) {
        s.difficulty = d;
        if (s.working) notify(s, 'mining.set_difficulty', [d]);
      }
    },
    sendNewJob: (o) => refresh(o?.clean ?? false),
    setExtranonce(extranonce1Hex: string, size: number) {
      const e1 = hexToBuf(extranonce1Hex, 'setExtranonce extranonce1');
      if (e1.length < 1 || e1.length > 16) throw new Error('setExtranonce: extranonce1 must be 1..16 bytes');
      if (!Number.isInteger(size) || size < 1 || size > 16) throw new Error('setExtranonce: extranonce2Size must be 1..16');
      extranonce1Size = e1.length;
      extranonce2Size = size;
      for (const s of sessions) {
        if (!s.subscribed) continue;
        s.extranonce1 = e1;
        s.extranonce2Size = size;
        resumable.set(s.subscriptionId, e1);
        notify(s, 'mining.set_extranonce', [extranonce1Hex, size]);
      }
      // The coinbase layout depends on the extranonce size, so miners need a fresh job.
      refresh(true).catch((err: unknown) => noteError(`job after setExtranonce: ${(err as Error).message}`));
    },
    sendReconnect(o = {}) {
      const params = [o.host ?? host, o.port ?? port, o.waitSeconds ?? 0];
      for (const s of sessions) notify(s, 'client.reconnect', params);
    },
    showMessage(text: string) {
      for (const s of sessions) notify(s, 'client.show_message', [text]);
    },
    sendRaw(line: string) {
      const data = line.endsWith('\n') ? line : line + '\n';
      for (const s of sessions) if (!s.socket.destroyed) s.socket.write(data);
    },
    disconnectAll() {
      for (const s of sessions) s.socket.destroy();
    },
    setBehavior(b) {
      Object.assign(behavior, b);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (poll) clearInterval(poll);
      for (const s of sessions) s.socket.destroy();
      for (const socket of rawSockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await refreshing;
      if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
    },
  };
  return pool;
}

async function scriptPubKeyOf(ltc: LitecoindRpc, address: string): Promise<Buffer> {
  let info: { scriptPubKey?: string; isvalid?: boolean };
  try {
    info = await ltc.rpc('getaddressinfo', [address]);
  } catch {
    info = await ltc.rpc('validateaddress', [address]);
  }
  if (!info.scriptPubKey || !isHex(info.scriptPubKey) || info.scriptPubKey.length === 0) {
    throw new Error(`payoutAddress ${address}: litecoind gives no scriptPubKey for it (not a valid regtest address?)`);
  }
  return Buffer.from(info.scriptPubKey, 'hex');
}
