/**
 * A Stratum job plus the session values it needs (extranonce1/2 size, difficulty), turned into
 * per-thread work units. Each thread gets its own extranonce2 values and its own slice of the
 * nonce space, so no two threads ever hash the same header.
 */
import { buildCoinbase, extranonce2Hex } from './coinbase.js';
import { buildHeader } from './header.js';
import { merkleRootFromBranch, sha256d } from './merkle.js';
import { targetFromBits, targetFromDifficulty, targetToLeBytes } from './target.js';

export interface JobParams {
  jobId: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
  cleanJobs: boolean;
}

export interface SessionParams {
  extranonce1: string;
  extranonce2Size: number;
  difficulty: number;
}

export interface WorkUnit {
  jobId: string;
  extranonce2: string;
  ntime: string;
  header: Uint8Array; // 80 bytes, nonce zero
  shareTarget: bigint;
  blockTarget: bigint;
  shareTargetLe: Uint8Array;
  nonceStart: number;
  nonceCount: number;
  difficulty: number;
}

export class Job {
  readonly receivedAt = Date.now();
  private readonly coinb1: Buffer;
  private readonly coinb2: Buffer;
  private readonly extranonce1: Buffer;
  private readonly branch: Buffer[];
  readonly shareTarget: bigint;
  readonly blockTarget: bigint;

  constructor(
    readonly params: JobParams,
    readonly session: SessionParams,
  ) {
    this.coinb1 = Buffer.from(params.coinb1, 'hex');
    this.coinb2 = Buffer.from(params.coinb2, 'hex');
    this.extranonce1 = Buffer.from(session.extranonce1, 'hex');
    this.branch = params.merkleBranch.map((b) => Buffer.from(b, 'hex'));
    this.shareTarget = targetFromDifficulty(session.difficulty);
    this.blockTarget = targetFromBits(params.nbits);
  }

  get id(): string {
    return this.params.jobId;
  }

  /** Header for one extranonce2 value (nonce field zero). */
  headerFor(extranonce2: string): Buffer {
    const coinbase = buildCoinbase(this.coinb1, this.extranonce1, Buffer.from(extranonce2, 'hex'), this.coinb2);
    const merkleRoot = merkleRootFromBranch(sha256d(coinbase), this.branch);
    return buildHeader({
      versionHex: this.params.version,
      prevhashHex: this.params.prevhash,
      merkleRoot,
      ntimeHex: this.params.ntime,
      nbitsHex: this.params.nbits,
    });
  }

  /**
   * Work for thread `thread` of `threads`, round `round` (a thread asks for the next round when it
   * has exhausted its nonce slice). extranonce2 = round * threads + thread keeps every thread's
   * coinbase distinct; the nonce space is also sliced so the split holds even when the pool gives
   * no extranonce2 room.
   */
  workFor(thread: number, threads: number, round: number): WorkUnit {
    const en2 = extranonce2Hex(BigInt(round) * BigInt(threads) + BigInt(thread), this.session.extranonce2Size);
    const slice = Math.floor(0x100000000 / threads);
    const nonceStart = slice * thread;
    const nonceCount = thread === threads - 1 ? 0x100000000 - nonceStart : slice;
    return {
      jobId: this.params.jobId,
      extranonce2: en2,
      ntime: this.params.ntime,
      header: this.headerFor(en2),
      shareTarget: this.shareTarget,
      blockTarget: this.blockTarget,
      shareTargetLe: targetToLeBytes(this.shareTarget),
      nonceStart,
      nonceCount,
      difficulty: this.session.difficulty,
    };
  }
}
