/**
 * One hashing thread. Hashes in small batches and, between batches, polls its control port
 * synchronously (receiveMessageOnPort) so a new job takes effect within one batch without
 * yielding to an event loop. Reports hashes and found nonces about four times a second.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { createKernel, isKernelName } from '../../hash/select.js';
import type { FromWorker, ToWorker, WorkMessage } from './protocol.js';

const init = workerData as { thread: number; kernel: string; port: MessagePort };
const kernel = createKernel(isKernelName(init.kernel) ? init.kernel : undefined);
const port = init.port;
// Nonces per kernel call: what the kernel needs to keep its SIMD lanes full (milliseconds of work).
const BATCH = kernel.batch;
const REPORT_MS = 250;

let work: WorkMessage | null = null;
let next = 0;
let remaining = 0;
let hashes = 0;
let found: Array<{ nonce: number; hash: Uint8Array }> = [];
let lastReport = Date.now();
let running = true;

function send(m: FromWorker): void {
  parentPort!.postMessage(m);
}

function flush(exhausted: boolean): void {
  if (work && (hashes > 0 || found.length > 0 || exhausted)) {
    send({ type: 'report', workId: work.workId, hashes, found, exhausted });
  }
  hashes = 0;
  found = [];
  lastReport = Date.now();
}

function apply(msg: ToWorker): void {
  if (msg.type === 'exit') {
    flush(false);
    running = false;
  } else if (msg.type === 'idle') {
    flush(false);
    work = null;
  } else {
    flush(false);
    work = msg;
    next = msg.nonceStart >>> 0;
    remaining = msg.nonceCount;
  }
}

function drainControl(): void {
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (!m) return;
    apply(m.message as ToWorker);
  }
}

function loop(): void {
  while (running) {
    drainControl();
    if (!running) break;
    if (!work || remaining <= 0) {
      // Nothing to hash: block on the event loop until a message arrives.
      port.once('message', (m: ToWorker) => {
        apply(m);
        setImmediate(loop);
      });
      return;
    }
    const n = Math.min(BATCH, remaining);
    const r = kernel.scanNonces(work.header, next, n, work.target);
    for (const nonce of r.found) {
      const h = new Uint8Array(work.header);
      new DataView(h.buffer).setUint32(76, nonce, true);
      found.push({ nonce, hash: kernel.hash(h) });
    }
    hashes += r.hashes;
    next = (next + n) >>> 0;
    remaining -= n;
    if (remaining <= 0) flush(true);
    else if (found.length > 0 || Date.now() - lastReport >= REPORT_MS) flush(false);
  }
  port.close();
}

send({ type: 'ready' });
loop();
