import { Writable } from 'node:stream';
import pino from 'pino';

/** A pino logger whose output is kept, one JSON line per entry, for a test to search or parse. */
export function captureLogger(level = 'debug'): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: pino({ level }, sink), lines };
}
