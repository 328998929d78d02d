/**
 * One probe of a pool: a real Stratum V1 session on the miner's own client (TCP or TLS,
 * mining.subscribe, mining.authorize with the pool's credentials, first mining.notify), then
 * closed. The client's own logs are silenced: the controller logs outcomes, and nothing that
 * carries the login is written per probe.
 */
import type { Logger } from 'pino';
import { StratumClient, type SessionFailureKind } from '../../../../miner/src/stratum/client.js';

export const PROBE_FAILURE_REASONS = ['ConnectFailed', 'TLSFailed', 'AuthorizeRejected', 'NoWork', 'Timeout', 'ProtocolError'] as const;
export type ProbeFailureReason = (typeof PROBE_FAILURE_REASONS)[number];

export interface ProbeTarget {
  poolName: string;
  url: string;
  login: string;
  password: string;
  tls?: { ca?: string; serverName?: string; insecureSkipVerify?: boolean };
}

/**
 * connectMs: start to the TCP connect (plain) or the end of the TLS handshake (stratum+ssl), i.e.
 * until the session could send mining.subscribe; set on a failure too when the probe got that far.
 * firstJobMs: start to the first mining.notify (successful probes only). totalMs: the whole probe.
 */
export type ProbeResult =
  | { ok: true; connectMs: number; firstJobMs: number; totalMs: number }
  | { ok: false; reason: ProbeFailureReason; message: string; totalMs: number; connectMs?: number };

const REASON_OF: Record<SessionFailureKind, ProbeFailureReason> = {
  connect: 'ConnectFailed',
  tls: 'TLSFailed',
  authorize: 'AuthorizeRejected',
  protocol: 'ProtocolError',
  timeout: 'Timeout',
  nowork: 'NoWork',
};

/** Strip anything that could echo a credential back (a pool may quote the login in its error). */
export function scrub(message: string, secrets: string[]): string {
  let out = message;
  for (const s of secrets) if (s.length >= 1) out = out.split(s).join('***');
  return out.slice(0, 1024);
}

/**
 * One probe handshake. `signal` (the reconcile's) cancels it: the connection is closed and the
 * promise rejects with the signal's reason, so a cancelled probe is never recorded as a pool failure.
 */
export function probePool(target: ProbeTarget, timeoutMs: number, log: Logger, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<ProbeResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    let connectMs: number | undefined;
    let badNotify = 0;
    let done = false;
    const client = new StratumClient({
      poolName: target.poolName,
      url: target.url,
      login: target.login,
      password: target.password,
      ...(target.tls ? { tls: target.tls } : {}),
      idleTimeoutMs: timeoutMs + 1000, // the overall deadline below decides
      handshakeTimeoutMs: timeoutMs + 1000,
      backoff: { initialMs: 1000, maxMs: 1000 },
      reconnect: false,
      userAgent: 'minefleet-probe/0.1',
      log: log.child({}, { level: 'silent' }),
    });
    const onAbort = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void client.stop(0);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void client.stop(0);
      // A failure after the connect (TLS done, or plain TCP up) still measured the connect.
      resolve(r.ok ? r : { ...r, message: scrub(r.message, [target.password, target.login]), ...(connectMs !== undefined ? { connectMs } : {}) });
    };
    const timer = setTimeout(() => {
      if (client.state === 'authorized') {
        finish(
          badNotify > 0
            ? {
                ok: false,
                reason: 'ProtocolError',
                message: `authorized, but the pool sent only invalid jobs (${badNotify} bad mining.notify) within ${timeoutMs} ms`,
                totalMs: elapsed(),
              }
            : { ok: false, reason: 'NoWork', message: `authorized, but no mining.notify within ${timeoutMs} ms`, totalMs: elapsed() },
        );
      } else {
        finish({
          ok: false,
          reason: connectMs === undefined ? 'ConnectFailed' : 'Timeout',
          message: `no ${connectMs === undefined ? 'connection' : 'Stratum handshake'} within ${timeoutMs} ms (state ${client.state})`,
          totalMs: elapsed(),
        });
      }
    }, timeoutMs);
    client.on('state', (s) => {
      if (s === 'subscribing' && connectMs === undefined) connectMs = elapsed();
    });
    client.on('badMessage', (kind) => {
      if (kind === 'bad_notify') badNotify++;
    });
    client.on('failure', (f) => finish({ ok: false, reason: REASON_OF[f.kind], message: f.message, totalMs: elapsed() }));
    client.on('job', () => {
      const t = elapsed();
      finish({ ok: true, connectMs: connectMs ?? t, firstJobMs: t, totalMs: t });
    });
    try {
      client.start();
    } catch (e) {
      finish({ ok: false, reason: 'ConnectFailed', message: (e as Error).message, totalMs: elapsed() });
    }
  });
}
