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

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

const AUTH_REFRESH_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 30_000;

export class KubeRest {
  private readonly http = new IsomorphicFetchHttpLibrary();
  private template: RequestContext | undefined;
  private templateAt = 0;

  constructor(readonly kubeConfig: KubeConfig) {}

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  private async authTemplate(): Promise<RequestContext> {
    if (!this.template || Date.now() - this.templateAt > AUTH_REFRESH_MS) {
      const ctx = new RequestContext(this.server, HttpMethod.GET);
      await this.kubeConfig.applySecurityAuthentication(ctx);
      this.template = ctx;
      this.templateAt = Date.now();
    }
    return this.template;
  }

  async request<T = unknown>(method: keyof typeof HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const template = await this.authTemplate();
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
    ctx.setSignal(opts.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS));
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

  get<T = unknown>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query });
  }
  create<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }
  replace<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }
  delete<T = unknown>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('DELETE', path, { query });
  }
  mergePatch<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }
  /** Server-side apply (JSON is valid YAML, so the apply content type accepts it). */
  apply<T = unknown>(path: string, body: unknown, fieldManager: string, force = true): Promise<T> {
    return this.request<T>('PATCH', path, {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force },
    });
  }
}
