// Turning a getblocktemplate result into a Stratum job (coinbase halves, merkle branch, header
// fields), and a job back into a header or a full block. Pure functions.
import { randomBytes } from 'node:crypto';
import { bitsToTarget, hexToBuf, pushData, reversed, scriptNumberPush, sha256d, u32le, u64le, varint } from './bytes.js';

/** The fields of litecoind's getblocktemplate result the pool uses. */
export interface BlockTemplate {
  version: number;
  previousblockhash: string;
  transactions: Array<{ data: string; txid?: string; hash?: string }>;
  coinbasevalue: number;
  bits: string;
  curtime: number;
  mintime?: number;
  height: number;
  default_witness_commitment?: string;
  /** Litecoin MWEB extension block (hex), present once MWEB is active. */
  mweb?: string;
}

export interface Job {
  id: string;
  height: number;
  /** Display-order previous block hash, as RPC prints it. */
  prevHashDisplay: string;
  version: number;
  bits: number;
  curtime: number;
  mintime: number;
  blockTarget: bigint;
  coinb1: Buffer;
  coinb2: Buffer;
  /** Merkle branch steps in internal byte order. */
  merkleBranch: Buffer[];
  /** Template transactions (raw, as litecoind serialized them) appended after the coinbase. */
  transactions: Buffer[];
  /** Their txids (internal byte order), the merkle leaves after the coinbase. */
  txids: Buffer[];
  hasWitnessCommitment: boolean;
  mweb?: Buffer;
  /** false for synthetic jobs (no litecoind behind them). */
  submittable: boolean;
  createdAt: number;
}

/** Tag after the extranonce in the coinbase scriptSig, so blocks name their maker. */
const POOL_TAG = Buffer.from('/minefleet-testpool/', 'ascii');

export function decodeTemplate(raw: unknown): BlockTemplate {
  const t = raw as Partial<BlockTemplate> | null;
  const fail = (field: string): never => {
    throw new Error(`getblocktemplate result: missing or malformed "${field}"`);
  };
  if (!t || typeof t !== 'object') throw new Error('getblocktemplate result is not an object');
  if (typeof t.version !== 'number') fail('version');
  if (typeof t.previousblockhash !== 'string' || !/^[0-9a-f]{64}$/.test(t.previousblockhash)) fail('previousblockhash');
  if (!Array.isArray(t.transactions)) fail('transactions');
  if (typeof t.coinbasevalue !== 'number') fail('coinbasevalue');
  if (typeof t.bits !== 'string' || !/^[0-9a-f]{8}$/.test(t.bits)) fail('bits');
  if (typeof t.curtime !== 'number') fail('curtime');
  if (typeof t.height !== 'number') fail('height');
  return t as BlockTemplate;
}

/**
 * Merkle branch for the coinbase (leaf 0): at each level the sibling of the running hash.
 * `txids` are the other leaves in internal byte order.
 */
export function merkleBranch(txids: Buffer[]): Buffer[] {
  const steps: Buffer[] = [];
  let level: Array<Buffer | null> = [null, ...txids];
  while (level.length > 1) {
    steps.push(level[1]!);
    if (level.length % 2 === 1) level.push(level[level.length - 1]!);
    const next: Array<Buffer | null> = [null];
    for (let i = 2; i < level.length; i += 2) next.push(sha256d(Buffer.concat([level[i]!, level[i + 1]!])));
    level = next;
  }
  return steps;
}

export function merkleRootFromBranch(coinbaseTxid: Buffer, branch: Buffer[]): Buffer {
  let h = coinbaseTxid;
  for (const step of branch) h = sha256d(Buffer.concat([h, step]));
  return h;
}

/** Plain merkle root over all txids (internal order); used to double-check block assembly. */
export function merkleRoot(txids: Buffer[]): Buffer {
  if (txids.length === 0) throw new Error('merkleRoot of no transactions');
  let level = txids;
  while (level.length > 1) {
    if (level.length % 2 === 1) level = [...level, level[level.length - 1]!];
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(Buffer.concat([level[i]!, level[i + 1]!])));
    level = next;
  }
  return level[0]!;
}

export interface CoinbaseParams {
  height: number;
  value: number;
  payoutScript: Buffer;
  witnessCommitmentScript?: Buffer;
  extranonceSize: number; // extranonce1 + extranonce2 bytes
}

/**
 * Non-witness coinbase split around the extranonce: coinb1 ends inside the scriptSig just after
 * the BIP34 height push, coinb2 starts with the pool tag.
 */
export function buildCoinbaseHalves(p: CoinbaseParams): { coinb1: Buffer; coinb2: Buffer } {
  const heightPush = scriptNumberPush(p.height);
  const tagPush = pushData(POOL_TAG);
  const scriptSigLength = heightPush.length + p.extranonceSize + tagPush.length;
  if (scriptSigLength > 100) throw new Error(`coinbase scriptSig would be ${scriptSigLength} bytes (max 100)`);
  const outputs: Buffer[] = [Buffer.concat([u64le(BigInt(p.value)), varint(p.payoutScript.length), p.payoutScript])];
  if (p.witnessCommitmentScript) {
    outputs.push(Buffer.concat([u64le(0n), varint(p.witnessCommitmentScript.length), p.witnessCommitmentScript]));
  }
  const coinb1 = Buffer.concat([
    u32le(1), // tx version
    varint(1),
    Buffer.alloc(32), // null prevout hash
    u32le(0xffffffff), // prevout index
    varint(scriptSigLength),
    heightPush,
  ]);
  const coinb2 = Buffer.concat([
    tagPush,
    u32le(0xffffffff), // sequence
    varint(outputs.length),
    ...outputs,
    u32le(0), // lock time
  ]);
  return { coinb1, coinb2 };
}

/**
 * The coinbase as it goes into a block: with a witness commitment the coinbase must carry its
 * witness (one 32-byte reserved value), so it is re-serialized with marker and flag.
 */
export function coinbaseForBlock(stripped: Buffer, withWitness: boolean): Buffer {
  if (!withWitness) return stripped;
  const version = stripped.subarray(0, 4);
  const body = stripped.subarray(4, stripped.length - 4); // inputs and outputs
  const lockTime = stripped.subarray(stripped.length - 4);
  const witness = Buffer.concat([varint(1), varint(32), Buffer.alloc(32)]);
  return Buffer.concat([version, Buffer.from([0x00, 0x01]), body, witness, lockTime]);
}

export function buildJob(id: string, template: BlockTemplate, payoutScript: Buffer, extranonceSize: number): Job {
  const txs = template.transactions.map((t, i) => hexToBuf(t.data, `template transaction ${i}`));
  // Merkle leaves are txids (non-witness hashes); compute them ourselves rather than trust fields.
  const txids = template.transactions.map((t, i) => {
    if (t.txid !== undefined) return reversed(hexToBuf(t.txid, `template transaction ${i} txid`));
    return sha256d(txs[i]!);
  });
  const commitment = template.default_witness_commitment ? hexToBuf(template.default_witness_commitment, 'default_witness_commitment') : undefined;
  const { coinb1, coinb2 } = buildCoinbaseHalves({
    height: template.height,
    value: template.coinbasevalue,
    payoutScript,
    ...(commitment ? { witnessCommitmentScript: commitment } : {}),
    extranonceSize,
  });
  const bits = Number.parseInt(template.bits, 16);
  return {
    id,
    height: template.height,
    prevHashDisplay: template.previousblockhash,
    version: template.version,
    bits,
    curtime: template.curtime,
    mintime: template.mintime ?? template.curtime,
    blockTarget: bitsToTarget(bits),
    coinb1,
    coinb2,
    merkleBranch: merkleBranch(txids),
    transactions: txs,
    txids,
    hasWitnessCommitment: commitment !== undefined,
    ...(template.mweb ? { mweb: hexToBuf(template.mweb, 'mweb') } : {}),
    submittable: true,
    createdAt: Date.now(),
  };
}

/** A job with no chain behind it: random previous hash, easy bits, coinbase paying OP_TRUE. */
export function buildSyntheticJob(id: string, height: number, extranonceSize: number): Job {
  const { coinb1, coinb2 } = buildCoinbaseHalves({
    height,
    value: 50 * 1e8,
    payoutScript: Buffer.from([0x51]),
    extranonceSize,
  });
  const now = Math.floor(Date.now() / 1000);
  const bits = 0x207fffff;
  return {
    id,
    height,
    prevHashDisplay: randomBytes(32).toString('hex'),
    version: 0x20000000,
    bits,
    curtime: now,
    mintime: now - 3600,
    blockTarget: bitsToTarget(bits),
    coinb1,
    coinb2,
    merkleBranch: [],
    transactions: [],
    txids: [],
    hasWitnessCommitment: false,
    submittable: false,
    createdAt: Date.now(),
  };
}

/**
 * Previous-block hash in the form Stratum pools send it: the header's internal byte order with
 * the bytes of each 32-bit word swapped (miners load it word by word as little-endian), which is
 * the display-order hash with its eight words in reverse order.
 */
export function stratumPrevHash(prevHashDisplay: string): string {
  const words: string[] = [];
  for (let i = 0; i < 64; i += 8) words.push(prevHashDisplay.slice(i, i + 8));
  return words.reverse().join('');
}

export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** mining.notify params for a job. */
export function notifyParams(job: Job, clean: boolean): unknown[] {
  return [
    job.id,
    stratumPrevHash(job.prevHashDisplay),
    job.coinb1.toString('hex'),
    job.coinb2.toString('hex'),
    job.merkleBranch.map((b) => b.toString('hex')),
    hex32(job.version),
    hex32(job.bits),
    hex32(job.curtime),
    clean,
  ];
}

export interface ShareWork {
  extranonce1: Buffer;
  extranonce2: Buffer;
  ntime: number;
  nonce: number;
}

export function coinbaseFor(job: Job, w: ShareWork): Buffer {
  return Buffer.concat([job.coinb1, w.extranonce1, w.extranonce2, job.coinb2]);
}

/** The 80-byte block header for a share; ntime and nonce are the numeric values. */
export function headerFor(job: Job, w: ShareWork): { header: Buffer; coinbase: Buffer } {
  const coinbase = coinbaseFor(job, w);
  const root = merkleRootFromBranch(sha256d(coinbase), job.merkleBranch);
  const header = Buffer.concat([u32le(job.version), reversed(Buffer.from(job.prevHashDisplay, 'hex')), root, u32le(w.ntime), u32le(job.bits), u32le(w.nonce)]);
  return { header, coinbase };
}

/**
 * Full serialized block: header, transactions (coinbase with witness when the template has a
 * witness commitment), and for MWEB templates the extension block after a presence byte.
 */
export function assembleBlock(job: Job, header: Buffer, coinbase: Buffer): Buffer {
  const parts = [header, varint(1 + job.transactions.length), coinbaseForBlock(coinbase, job.hasWitnessCommitment), ...job.transactions];
  if (job.mweb) parts.push(Buffer.from([0x01]), job.mweb);
  return Buffer.concat(parts);
}
