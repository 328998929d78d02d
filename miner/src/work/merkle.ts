import { createHash } from 'node:crypto';

export function sha256d(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

/**
 * Merkle root from the coinbase hash and the branch the pool sends (each a raw 32-byte hash in
 * internal byte order): root = SHA256d(root || branch[i]) for each i. The result goes into the
 * header as is.
 */
export function merkleRootFromBranch(coinbaseHash: Uint8Array, branch: readonly Uint8Array[]): Buffer {
  let root: Buffer = Buffer.from(coinbaseHash);
  for (const b of branch) root = sha256d(Buffer.concat([root, b]));
  return root;
}
