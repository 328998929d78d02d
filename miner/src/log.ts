import { pino, type Logger } from 'pino';

/** Paths that could ever carry a credential; pino replaces them before anything is written. */
export const REDACT_PATHS = ['password', 'pass', '*.password', '*.pass', 'params', '*.params', 'config.pools[*].password'];

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { component: 'miner', ...base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
