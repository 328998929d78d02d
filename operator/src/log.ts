import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * pino JSON logs. Records about a fleet or pool carry `fleet`, `pool`, `namespace` fields (use
 * `fleetLogger`); `redact` is a second line of defence so credentials never reach a log line.
 */
export function createLogger(level: LevelWithSilent = 'info', name = 'minefleet-operator'): Logger {
  return pino({
    name,
    level,
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'data', '*.data', 'stringData', '*.stringData'], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}

export function fleetLogger(log: Logger, namespace: string | undefined, fleet: string): Logger {
  return log.child({ namespace, fleet });
}
