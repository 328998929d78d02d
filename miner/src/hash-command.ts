import { ExitError } from './miner.js';
import { createKernel, isKernelName, KERNEL_NAMES, KernelUnavailableError } from './hash/select.js';
import { sha256d } from './work/merkle.js';
import { leBytesToBigInt, targetFromBits } from './work/target.js';

export interface HashOutput {
  powHash: string; // scrypt hash, display order (big-endian hex of the little-endian number)
  blockHash: string; // SHA256d, display order
  bits: string;
  target: string;
  meetsTarget: boolean;
}

export function hashCommand(headerHex: string | undefined, bits?: string, kernelName?: string): HashOutput {
  if (!headerHex) throw new ExitError('hash: HEADER_HEX is required (160 hex digits)', 2);
  if (!/^[0-9a-fA-F]{160}$/.test(headerHex))
    throw new ExitError(
      `hash: HEADER_HEX must be exactly 160 hex digits (80 bytes), got ${headerHex.length} characters${/[^0-9a-fA-F]/.test(headerHex) ? ' with non-hex characters' : ''}`,
      2,
    );
  if (bits !== undefined && !/^[0-9a-fA-F]{8}$/.test(bits)) throw new ExitError(`hash: --bits must be 8 hex digits, got '${bits}'`, 2);
  if (kernelName !== undefined && !isKernelName(kernelName))
    throw new ExitError(`hash: --kernel must be one of ${KERNEL_NAMES.join(' | ')}, got '${kernelName}'`, 2);
  const header = Buffer.from(headerHex, 'hex');
  const nbits = bits ?? Buffer.from(header.subarray(72, 76)).reverse().toString('hex');
  let kernel;
  try {
    kernel = createKernel(kernelName && isKernelName(kernelName) ? kernelName : undefined);
  } catch (e) {
    if (e instanceof KernelUnavailableError) throw new ExitError(`hash: ${e.message}`, 2);
    throw e;
  }
  const pow = kernel.hash(header);
  const target = targetFromBits(nbits);
  return {
    powHash: Buffer.from(pow).reverse().toString('hex'),
    blockHash: Buffer.from(sha256d(header)).reverse().toString('hex'),
    bits: nbits.toLowerCase(),
    target: target.toString(16).padStart(64, '0'),
    meetsTarget: leBytesToBigInt(pow) <= target,
  };
}
