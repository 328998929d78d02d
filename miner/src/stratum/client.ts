/**
 * Stratum V1 client for one pool. Owns one TCP/TLS connection at a time and re-establishes it with
 * exponential back-off and jitter whenever the session breaks (socket error, malformed handshake,
 * failed authorization, no work for idleTimeout). Every inbound line is validated (messages.ts);
 * a bad line is logged and dropped, never thrown.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Job, type JobParams } from '../work/job.js';
import { LineSplitter } from './lines.js';
import {
  BadMessageError,
  MAX_LINE_BYTES,
  NotifyParamsSchema,
  ReconnectParamsSchema,
  SetDifficultyParamsSchema,
  SetExtranonceParamsSchema,
  ShowMessageParamsSchema,
  SubscribeResultSchema,
  formatZodError,
  parseLine,
  sessionIdFromSubscriptions,
} from './messages.js';

export type ConnectionState = 'disconnected' | 'connecting' | 'subscribing' | 'authorizing' | 'authorized' | 'stopped';
export const CONNECTION_STATES: ConnectionState[] = ['disconnected', 'connecting', 'subscribing', 'authorizing', 'authorized', 'stopped'];

export interface ShareSubmission {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
}

export type ShareOutcome = { result: 'accepted' } | { result: 'rejected'; code: number; reason: string } | { result: 'stale'; code: number; reason: string };

/**
 * Why a session failed, by kind: what a miner falls back on and what a probe reports.
 * connect: TCP refused/reset/unreachable; tls: the TLS handshake or certificate check failed;
 * authorize: the pool refused the login; protocol: a handshake reply we cannot use; timeout: the
 * handshake did not finish in time; nowork: authorized but no job within the idle timeout.
 */
export type SessionFailureKind = 'connect' | 'tls' | 'authorize' | 'protocol' | 'timeout' | 'nowork';

export interface SessionFailure {
  kind: SessionFailureKind;
  message: string;
}

export interface StratumClientOptions {
  poolName: string;
  url: string;
  login: string;
  password: string;
  /**
   * caFile: PEM file; ca: PEM text (the operator's probe reads it from a Secret).
   * insecureSkipVerify: connect even if the certificate does not verify (TLS >= 1.2 still).
   */
  tls?: { caFile?: string; ca?: string; serverName?: string; insecureSkipVerify?: boolean };
  idleTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  submitTimeoutMs?: number;
  /** Handshake (connect, TLS, subscribe, authorize) deadline; default 30 s. */
  handshakeTimeoutMs?: number;
  /** false: one session only, no reconnect after a failure (the operator's probe). Default true. */
  reconnect?: boolean;
  userAgent?: string;
  log: Logger;
}

export interface StratumClientEvents {
  state: [ConnectionState];
  job: [Job];
  difficulty: [number];
  message: [string];
  badMessage: [string];
  reconnect: [string];
  failure: [SessionFailure];
}

interface Pending {
  method: string;
  resolve: (v: { result: unknown; error: { code: number; message: string } | null }) => void;
  timer?: NodeJS.Timeout;
}

const STALE_CODES = new Set([21]); // Stratum "Job not found (=stale)"
/** Error codes of outcomes that never reached the pool's judgement. */
export const SUBMIT_TIMEOUT_CODE = -2;
export const CONNECTION_LOST_CODE = -3;

/** Lowest TLS version a pool may speak; older ones are refused in the handshake. */
export const MIN_TLS_VERSION = 'TLSv1.2' as const;

/**
 * What a failed TLS handshake means, in the words an operator searches for, from Node's error
 * code (OpenSSL's verify result or the protocol alert). The same text reaches a probe's lastError
 * and the miner's log, so both name the same cause.
 */
export function tlsFailureCause(code: string | undefined): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'certificate expired';
    case 'CERT_NOT_YET_VALID':
      return 'certificate not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'hostname mismatch';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return 'unknown CA';
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `protocol version below ${MIN_TLS_VERSION.replace('v', ' ')} or not TLS`;
    default:
      return 'handshake failed';
  }
}

export function parsePoolUrl(url: string): { secure: boolean; host: string; port: number } {
  const m = /^stratum\+(tcp|ssl):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})\/?$/.exec(url);
  if (!m) throw new Error(`invalid pool url '${url}'`);
  return { secure: m[1] === 'ssl', host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

export class StratumClient extends EventEmitter<StratumClientEvents> {
  private socket: net.Socket | null = null;
  private stateValue: ConnectionState = 'disconnected';
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private sessionId: string | undefined;
  private extranonce1 = '';
  private extranonce2Size = 4;
  private difficultyValue = 0;
  private currentJob: Job | null = null;
  private validJobs = new Map<string, Job>();
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private redirect: { host: string; port: number } | null = null;
  private stopped = false;
  private splitter: LineSplitter;
  private disconnectedSince: number | null = Date.now();
  /** One failure report per connection attempt (an error is usually followed by a close). */
  private failedThisConnection = false;
  private tcpConnected = false;
  readonly log: Logger;

  constructor(readonly opts: StratumClientOptions) {
    super();
    this.log = opts.log.child({ pool: opts.poolName });
    this.splitter = new LineSplitter(
      MAX_LINE_BYTES,
      (l) => this.onLine(l),
      (n) => this.bad('line_too_long', `line exceeds ${MAX_LINE_BYTES} bytes (${n} seen); dropped`),
    );
  }

  get poolName(): string {
    return this.opts.poolName;
  }
  get state(): ConnectionState {
    return this.stateValue;
  }
  get difficulty(): number {
    return this.difficultyValue;
  }
  get job(): Job | null {
    return this.currentJob;
  }
  get pendingSubmits(): number {
    return [...this.pending.values()].filter((p) => p.method === 'mining.submit').length;
  }
  /** ms since the session was last authorized (0 while authorized). */
  deadForMs(now = Date.now()): number {
    return this.disconnectedSince === null ? 0 : now - this.disconnectedSince;
  }
  /** Whether the job is still one the pool will take shares for. */
  isJobValid(jobId: string): boolean {
    return this.stateValue === 'authorized' && this.validJobs.has(jobId);
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Stop: no new work; wait up to `drainMs` for in-flight submits, then close. */
  async stop(drainMs = 3000): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    const deadline = Date.now() + drainMs;
    while (this.pendingSubmits > 0 && Date.now() < deadline && this.socket && !this.socket.destroyed) {
      await new Promise((r) => setTimeout(r, 25));
    }
    this.teardown('stopped');
    this.setState('stopped');
  }

  private setState(s: ConnectionState): void {
    if (s === this.stateValue) return;
    this.stateValue = s;
    if (s === 'authorized') this.disconnectedSince = null;
    else if (this.disconnectedSince === null) this.disconnectedSince = Date.now();
    this.emit('state', s);
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.reconnectTimer = null;
    this.idleTimer = null;
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.log.warn({ idleTimeoutMs: this.opts.idleTimeoutMs }, 'no work from pool within idle timeout; reconnecting');
      this.fail('nowork', `no job from the pool within ${this.opts.idleTimeoutMs} ms`);
      this.restart('idle');
    }, this.opts.idleTimeoutMs);
    this.idleTimer.unref?.();
  }

  /** Report a failed session once per connection attempt. */
  private fail(kind: SessionFailureKind, message: string): void {
    if (this.failedThisConnection) return;
    this.failedThisConnection = true;
    this.emit('failure', { kind, message });
  }

  private connect(): void {
    if (this.stopped) return;
    const target = this.redirect ?? parsePoolUrl(this.opts.url);
    const secure = parsePoolUrl(this.opts.url).secure;
    this.setState('connecting');
    this.splitter.reset();
    this.failedThisConnection = false;
    this.tcpConnected = false;
    let sock: net.Socket;
    try {
      if (secure) {
        const ca = this.opts.tls?.ca ?? (this.opts.tls?.caFile ? readFileSync(this.opts.tls.caFile) : undefined);
        const servername = this.opts.tls?.serverName ?? (net.isIP(target.host) ? undefined : target.host);
        const insecure = this.opts.tls?.insecureSkipVerify === true;
        const tsock = tls.connect({
          host: target.host,
          port: target.port,
          ...(ca ? { ca } : {}),
          ...(servername ? { servername } : {}),
          rejectUnauthorized: !insecure,
          minVersion: MIN_TLS_VERSION,
        });
        sock = tsock;
        sock.once('connect', () => (this.tcpConnected = true));
        sock.once('secureConnect', () => {
          // Said on every connection, not once: a pool that skips verification must stay visible in the logs.
          if (insecure) {
            const why = tsock.authorizationError;
            this.log.warn(
              {
                insecureSkipVerify: true,
                protocol: tsock.getProtocol(),
                ...(why ? { verifyError: String(why), cause: tlsFailureCause((why as NodeJS.ErrnoException).code ?? String(why)) } : {}),
              },
              'TLS certificate NOT verified (tls.insecureSkipVerify)',
            );
          }
          this.onConnected();
        });
      } else {
        sock = net.connect({ host: target.host, port: target.port });
        sock.once('connect', () => {
          this.tcpConnected = true;
          this.onConnected();
        });
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'cannot open connection');
      this.fail(secure ? 'tls' : 'connect', (e as Error).message);
      this.scheduleReconnect('connect_failed');
      return;
    }
    this.socket = sock;
    sock.setEncoding('utf8');
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 30_000);
    const handshakeMs = this.opts.handshakeTimeoutMs ?? 30_000;
    sock.setTimeout(handshakeMs, () => {
      if (this.stateValue !== 'authorized') {
        this.log.warn({ state: this.stateValue, handshakeTimeoutMs: handshakeMs }, 'handshake timed out');
        this.fail(this.tcpConnected ? 'timeout' : 'connect', `handshake did not finish within ${handshakeMs} ms (state ${this.stateValue})`);
        this.restart('handshake_timeout');
      }
    });
    sock.on('data', (chunk: string) => {
      if (sock !== this.socket) return;
      this.splitter.push(chunk);
    });
    sock.on('error', (err) => {
      if (sock !== this.socket) return;
      // Before the TCP connect completes it is a connect failure; after it and before the TLS
      // handshake completes, it is TLS (certificate, server name, protocol version).
      const inTls = secure && this.tcpConnected && this.stateValue === 'connecting';
      const code = (err as NodeJS.ErrnoException).code;
      if (inTls) {
        const cause = tlsFailureCause(code);
        this.log.warn({ err, cause }, `TLS handshake refused: ${cause}`);
        this.fail('tls', `TLS ${cause}: ${code ?? 'error'}: ${err.message}`);
        return;
      }
      this.log.warn({ err }, 'connection error');
      this.fail(this.tcpConnected ? 'protocol' : 'connect', `${code ?? 'error'}: ${err.message}`);
    });
    sock.on('close', () => {
      if (sock !== this.socket) return;
      this.log.warn({ state: this.stateValue }, 'connection closed');
      if (this.stateValue !== 'authorized') {
        const inTls = secure && this.tcpConnected && this.stateValue === 'connecting';
        this.fail(inTls ? 'tls' : this.tcpConnected ? 'protocol' : 'connect', `connection closed by the pool during the handshake (state ${this.stateValue})`);
      }
      // A redirect (client.reconnect) that does not lead to a working session is dropped, so a
      // bad redirect cannot keep us away from the configured pool.
      if (this.redirect && this.stateValue !== 'authorized') this.redirect = null;
      this.teardown('connection closed');
      this.scheduleReconnect('closed');
    });
    this.armIdle();
  }

  private onConnected(): void {
    this.log.info({ host: this.redirect?.host, port: this.redirect?.port }, 'connected; subscribing');
    this.setState('subscribing');
    void this.handshake();
  }

  private async handshake(): Promise<void> {
    const sock = this.socket;
    const agent = this.opts.userAgent ?? 'minefleet-miner/0.1';
    let sub = await this.request('mining.subscribe', this.sessionId ? [agent, this.sessionId] : [agent], 15_000);
    if (sock !== this.socket) return;
    if ((sub.error || !sub.result) && this.sessionId) {
      this.log.info('pool refused session resume; subscribing fresh');
      this.sessionId = undefined;
      sub = await this.request('mining.subscribe', [agent], 15_000);
      if (sock !== this.socket) return;
    }
    const parsed = SubscribeResultSchema.safeParse(sub.result);
    if (sub.error || !parsed.success) {
      this.log.error(
        { error: sub.error ?? undefined, detail: parsed.success ? undefined : formatZodError(parsed.error) },
        'mining.subscribe failed; re-establishing session',
      );
      this.fail(
        sub.error?.code === -2 ? 'timeout' : 'protocol',
        sub.error ? `mining.subscribe: ${sub.error.message}` : `mining.subscribe result invalid: ${parsed.success ? '' : formatZodError(parsed.error)}`,
      );
      this.restart('subscribe_failed');
      return;
    }
    const [subs, en1, en2size] = parsed.data;
    const resumed = this.sessionId !== undefined && this.sessionId === sessionIdFromSubscriptions(subs) && en1.toLowerCase() === this.extranonce1;
    this.sessionId = sessionIdFromSubscriptions(subs);
    // Even a resumed session (same extranonce1) gets fresh jobs from the pool; shares for jobs
    // of the old connection would only come back as stale.
    this.invalidateJobs();
    this.extranonce1 = en1.toLowerCase();
    this.extranonce2Size = en2size;
    this.log.info({ extranonce1: en1, extranonce2Size: en2size, sessionId: this.sessionId, resumed }, 'subscribed');

    // Optional extension; many pools answer with an error, which is fine.
    void this.request('mining.extranonce.subscribe', [], 10_000);

    this.setState('authorizing');
    const auth = await this.request('mining.authorize', [this.opts.login, this.opts.password], 15_000);
    if (sock !== this.socket) return;
    if (auth.result !== true) {
      this.log.error({ error: auth.error ?? undefined, worker: this.opts.login }, 'mining.authorize refused; re-establishing session');
      this.fail(
        auth.error?.code === -2 ? 'timeout' : 'authorize',
        auth.error ? `mining.authorize refused: ${auth.error.message}` : `mining.authorize answered ${JSON.stringify(auth.result)}`,
      );
      this.restart('authorize_failed');
      return;
    }
    this.setState('authorized');
    sock?.setTimeout(0);
    this.log.info({ worker: this.opts.login }, 'authorized');
    // A job that arrived in the same read as the authorize reply (before this continuation ran)
    // belongs to this connection: start on it now.
    if (this.currentJob) this.emit('job', this.currentJob);
  }

  private request(method: string, params: unknown[], timeoutMs: number): Promise<{ result: unknown; error: { code: number; message: string } | null }> {
    return new Promise((resolve) => {
      const sock = this.socket;
      if (!sock || sock.destroyed) {
        resolve({ result: null, error: { code: -1, message: 'not connected' } });
        return;
      }
      const id = this.nextId++;
      const p: Pending = { method, resolve };
      p.timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ result: null, error: { code: SUBMIT_TIMEOUT_CODE, message: `${method} timed out after ${timeoutMs} ms` } });
      }, timeoutMs);
      this.pending.set(id, p);
      sock.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  async submit(s: ShareSubmission): Promise<ShareOutcome> {
    if (this.stateValue !== 'authorized') return { result: 'stale', code: -1, reason: 'not connected' };
    if (!this.validJobs.has(s.jobId)) return { result: 'stale', code: 21, reason: 'job no longer valid' };
    const r = await this.request('mining.submit', [this.opts.login, s.jobId, s.extranonce2, s.ntime, s.nonce], this.opts.submitTimeoutMs ?? 30_000);
    if (r.result === true && !r.error) return { result: 'accepted' };
    const code = r.error?.code ?? 0;
    const reason = r.error?.message ?? 'rejected without reason';
    if (STALE_CODES.has(code) || /stale|job not found/i.test(reason)) return { result: 'stale', code, reason };
    return { result: 'rejected', code, reason };
  }

  private bad(kind: string, message: string): void {
    this.log.error({ kind }, `bad message from pool: ${message}`);
    this.emit('badMessage', kind);
  }

  private onLine(line: string): void {
    let msg;
    try {
      msg = parseLine(line);
    } catch (e) {
      if (e instanceof BadMessageError) this.bad(e.reason, `${e.message} (line starts ${JSON.stringify(line.slice(0, 80))})`);
      else this.bad('internal', (e as Error).message);
      return;
    }
    try {
      if (msg.kind === 'response') this.onResponse(msg.id, msg.result, msg.error);
      else this.onNotification(msg.id, msg.method, msg.params);
    } catch (e) {
      this.bad('handler', `error handling ${msg.kind === 'notification' ? msg.method : 'response'}: ${(e as Error).message}`);
    }
  }

  private onResponse(id: number | string | null, result: unknown, error: { code: number; message: string } | null): void {
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p || typeof id !== 'number') {
      this.bad('unknown_id', `response to unknown request id ${JSON.stringify(id)}`);
      return;
    }
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    p.resolve({ result, error });
  }

  private reply(id: number | string | null, result: unknown, error: unknown = null): void {
    if (id === null || !this.socket || this.socket.destroyed) return;
    this.socket.write(JSON.stringify({ id, result, error }) + '\n');
  }

  private onNotification(id: number | string | null, method: string, params: unknown[]): void {
    switch (method) {
      case 'mining.notify': {
        const r = NotifyParamsSchema.safeParse(params);
        if (!r.success) return this.bad('bad_notify', `mining.notify params invalid: ${formatZodError(r.error)}`);
        const [jobId, prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime, cleanJobs] = r.data;
        const jp: JobParams = { jobId, prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime, cleanJobs };
        if (this.difficultyValue <= 0) this.difficultyValue = 1;
        const job = new Job(jp, { extranonce1: this.extranonce1, extranonce2Size: this.extranonce2Size, difficulty: this.difficultyValue });
        if (cleanJobs) this.validJobs.clear();
        this.validJobs.set(jobId, job);
        if (this.validJobs.size > 32) this.validJobs.delete(this.validJobs.keys().next().value!);
        this.currentJob = job;
        this.attempt = 0;
        this.armIdle();
        this.log.debug({ jobId, cleanJobs, difficulty: this.difficultyValue }, 'new job');
        if (this.stateValue === 'authorized') this.emit('job', job);
        return;
      }
      case 'mining.set_difficulty': {
        const r = SetDifficultyParamsSchema.safeParse(params);
        if (!r.success) return this.bad('bad_set_difficulty', `mining.set_difficulty params invalid: ${formatZodError(r.error)}`);
        const d = r.data[0];
        this.log.info({ difficulty: d }, 'difficulty set');
        // Pools differ on whether a new difficulty applies to the current job or from the next
        // one. A harder target satisfies both readings, so a raise applies at once and a drop
        // waits for the next mining.notify (as cpuminer does).
        this.difficultyValue = d;
        this.emit('difficulty', d);
        if (this.currentJob && d > this.currentJob.session.difficulty) this.reissueCurrentJob(d);
        return;
      }
      case 'mining.set_extranonce': {
        const r = SetExtranonceParamsSchema.safeParse(params);
        if (!r.success) return this.bad('bad_set_extranonce', `mining.set_extranonce params invalid: ${formatZodError(r.error)}`);
        this.extranonce1 = r.data[0].toLowerCase();
        this.extranonce2Size = r.data[1];
        this.log.info({ extranonce1: this.extranonce1, extranonce2Size: this.extranonce2Size }, 'extranonce changed');
        if (this.currentJob) this.reissueCurrentJob(this.currentJob.session.difficulty);
        return;
      }
      case 'client.reconnect': {
        const r = ReconnectParamsSchema.safeParse(params);
        if (!r.success) return this.bad('bad_reconnect', `client.reconnect params invalid: ${formatZodError(r.error)}`);
        const [hostRaw, portRaw, waitRaw] = r.data;
        const configured = parsePoolUrl(this.opts.url);
        const host = typeof hostRaw === 'string' && hostRaw.length > 0 ? hostRaw : (this.redirect ?? configured).host;
        const port = portRaw === undefined || portRaw === null || portRaw === '' ? (this.redirect ?? configured).port : Number(portRaw);
        const wait = waitRaw === undefined || waitRaw === null || waitRaw === '' ? 0 : Number(waitRaw);
        if (!Number.isInteger(port) || port < 1 || port > 65535 || !Number.isFinite(wait) || wait < 0 || wait > 3600) {
          return this.bad('bad_reconnect', `client.reconnect with invalid port ${JSON.stringify(portRaw)} or wait ${JSON.stringify(waitRaw)}`);
        }
        // Following a redirect to another host would hand our credentials to whoever the pool
        // names, so only a change of port on the configured host is honoured.
        if (host !== configured.host) {
          return this.bad('bad_reconnect', `client.reconnect to another host '${host}' refused (configured ${configured.host})`);
        }
        this.redirect = host === configured.host && port === configured.port ? null : { host, port };
        this.log.info({ host, port, waitSeconds: wait }, 'pool asked us to reconnect');
        this.teardown('client.reconnect');
        this.emit('reconnect', 'client.reconnect');
        this.reconnectTimer = setTimeout(() => {
          this.reconnectTimer = null;
          this.connect();
        }, wait * 1000);
        return;
      }
      case 'client.show_message': {
        const r = ShowMessageParamsSchema.safeParse(params);
        if (!r.success) return this.bad('bad_show_message', `client.show_message params invalid: ${formatZodError(r.error)}`);
        this.log.info({ poolMessage: r.data[0] }, 'message from pool');
        this.emit('message', r.data[0]);
        return;
      }
      case 'client.get_version':
        this.reply(id, this.opts.userAgent ?? 'minefleet-miner/0.1');
        return;
      default:
        this.bad('unknown_method', `unknown method '${method.slice(0, 64)}'`);
        if (id !== null) this.reply(id, null, [20, 'Unsupported method', null]);
    }
  }

  /** Rebuild the current job with the session's current difficulty/extranonce. */
  private reissueCurrentJob(difficulty: number): void {
    const cur = this.currentJob;
    if (!cur) return;
    const job = new Job(cur.params, { extranonce1: this.extranonce1, extranonce2Size: this.extranonce2Size, difficulty });
    this.validJobs.set(job.id, job);
    this.currentJob = job;
    if (this.stateValue === 'authorized') this.emit('job', job);
  }

  private invalidateJobs(): void {
    this.validJobs.clear();
    this.currentJob = null;
  }

  private teardown(reason: string): void {
    const sock = this.socket;
    this.socket = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.resolve({ result: null, error: { code: CONNECTION_LOST_CODE, message: `connection lost (${reason})` } });
      this.pending.delete(id);
    }
    if (sock) {
      sock.removeAllListeners('data');
      sock.on('error', () => {});
      sock.destroy();
    }
    // Jobs stay known for a possible session resume, but no share can be sent for them now.
    if (!this.stopped) this.setState('disconnected');
  }

  /** Drop the session and reconnect with back-off. */
  restart(reason: string): void {
    if (this.stopped) return;
    this.teardown(reason);
    this.scheduleReconnect(reason);
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped || this.reconnectTimer) return;
    if (this.opts.reconnect === false) return;
    const base = Math.min(this.opts.backoff.maxMs, this.opts.backoff.initialMs * 2 ** Math.min(this.attempt, 20));
    const delay = Math.round(base / 2 + Math.random() * (base / 2)); // "equal jitter"
    this.attempt++;
    this.log.info({ reason, delayMs: delay, attempt: this.attempt }, 'reconnecting after back-off');
    this.emit('reconnect', reason);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }
}
