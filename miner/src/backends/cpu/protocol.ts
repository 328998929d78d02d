import type { MessagePort } from 'node:worker_threads';
/** Messages between the CPU backend and its hashing threads. */
export interface WorkMessage {
  type: 'work';
  workId: number;
  header: Uint8Array; // 80 bytes, nonce field ignored
  target: Uint8Array; // share target, 32 bytes little-endian
  nonceStart: number;
  nonceCount: number;
}
export interface IdleMessage {
  type: 'idle';
}
export interface ExitMessage {
  type: 'exit';
}
export type ToWorker = WorkMessage | IdleMessage | ExitMessage;

export interface ReportMessage {
  type: 'report';
  workId: number;
  hashes: number;
  found: Array<{ nonce: number; hash: Uint8Array }>;
  exhausted: boolean;
}
export interface ReadyMessage {
  type: 'ready';
}
export type FromWorker = ReportMessage | ReadyMessage;

export interface WorkerInit {
  thread: number;
  kernel: string;
  port: MessagePort;
}
