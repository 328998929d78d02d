import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig } from '@kubernetes/client-node';

/**
 * A thin JSON REST client for the Kubernetes API.
 *
 * Why not the generated typed clients: they turn timestamps into Date objects (watch events carry
 * strings, so the cache would hold two shapes) and client-node builds a new TLS agent for every
 * request, which costs a handshake per call at 1,000 fleets. This client authenticates once, keeps
 * one keep-alive dispatcher, and refreshes both periodically so rotated tokens are picked up.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 409;
}
export function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 410;
}

/** What every call takes: the caller's cancellation (a reconcile's ctx.signal) and an optional time bound. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Bound of this request (default 30 s); the signal may end it sooner. */
  timeoutMs?: number;
}

export interface RequestOptions extends CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
}

const AUTH_REFRESH_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 30_000;

export class KubeRest {
  private readonly http = new IsomorphicFetchHttpLibrary();
  /** Mutated in place, so clients made by withSignal share it. */
  private readonly auth: { template: RequestContext | undefined; at: number } = { template: undefined, at: 0 };

  constructor(readonly kubeConfig: KubeConfig) {}

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  private async authTemplate(): Promise<RequestContext> {
    if (!this.auth.template || Date.now() - this.auth.at > AUTH_REFRESH_MS) {
      const ctx = new RequestContext(this.server, HttpMethod.GET);
      await this.kubeConfig.applySecurityAuthentication(ctx);
      this.auth.template = ctx;
      this.auth.at = Date.now();
    }
    return this.auth.template;
  }

  /**
   * A client whose every request is also cancelled by `signal` (e.g. the Manager's leadership
   * signal: once it fires, no request of this client is sent any more). Shares authentication and
   * the keep-alive connection pool with this one.
   */
  withSignal(signal: AbortSignal): KubeRest {
    const child = Object.create(this) as KubeRest & { baseSignals: AbortSignal[] };
    child.baseSignals = [...this.baseSignals, signal];
    return child;
  }

  /** Signals every request of this client obeys (see withSignal). */
  protected baseSignals: AbortSignal[] = [];

  async request<T = unknown>(method: keyof typeof HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    // Every request is bounded in time, whether or not the caller brought its own signal.
    const signals = [...this.baseSignals, AbortSignal.timeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS)];
    if (opts.signal) signals.push(opts.signal);
    const signal = AbortSignal.any(signals);
    // Checked before anything is sent: a cancelled reconcile or a lost leadership sends nothing.
    signal.throwIfAborted();
    const template = await this.authTemplate();
    signal.throwIfAborted();
    const url = new URL(this.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    for (const [k, v] of Object.entries(template.getHeaders())) ctx.setHeaderParam(k, v);
    const dispatcher = template.getDispatcher();
    if (dispatcher) ctx.setDispatcher(dispatcher);
    ctx.setHeaderParam('Accept', 'application/json');
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    ctx.setSignal(signal);
    const res = await this.http.send(ctx).toPromise();
    const text = await res.body.text();
    if (res.httpStatusCode >= 400) {
      let reason = 'Unknown';
      let message = text.slice(0, 500);
      try {
        const status = JSON.parse(text) as { reason?: string; message?: string };
        reason = status.reason ?? reason;
        message = status.message ?? message;
      } catch {
        /* not a Status object */
      }
      throw new ApiError(res.httpStatusCode, reason, `${method} ${url.pathname}: ${res.httpStatusCode} ${reason}: ${message}`, method, url.pathname);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = unknown>(path: string, query?: RequestOptions['query'], opts: CallOptions = {}): Promise<T> {
    return this.request<T>('GET', path, { ...opts, query });
  }
  create<T = unknown>(path: string, body: unknown, opts: CallOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...opts, body });
  }
  replace<T = unknown>(path: string, body: unknown, opts: CallOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...opts, body });
  }
  delete<T = unknown>(path: string, query?: RequestOptions['query'], opts: CallOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, { ...opts, query });
  }
  mergePatch<T = unknown>(path: string, body: unknown, opts: CallOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, { ...opts, body, contentType: 'application/merge-patch+json' });
  }
  /** Server-side apply (JSON is valid YAML, so the apply content type accepts it). */
  apply<T = unknown>(path: string, body: unknown, fieldManager: string, force = true, opts: CallOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, {
      ...opts,
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force },
    });
  }
}
