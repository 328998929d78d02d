/**
 * The one HTTP server every minefleet endpoint runs on (miner and supervisor /metrics, /shares,
 * /healthz, /readyz; the operator's metrics and probes): read-only routes behind limits, so a
 * malformed, oversized, slow or flooding client is answered or cut off without starving a
 * legitimate scrape.
 *  - only GET and HEAD (405 with Allow), no request bodies (413), bounded URL (414) and headers (431);
 *  - headersTimeout / requestTimeout cut a slow-loris client off, keepAliveTimeout and the socket
 *    idle timeout close connections that hold a slot doing nothing;
 *  - a connection cap for the whole server and a smaller one per client address, so one client
 *    cannot take every slot;
 *  - a token bucket per client address (429 with Retry-After);
 *  - responses bounded in size (a route that would answer more answers 500 naming the limit).
 */
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { TokenBuckets } from './token-buckets.js';

export interface HttpLimits {
  maxHeaderBytes: number;
  maxUrlBytes: number;
  /** Whole request head must arrive within this (slow-loris). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** A socket with no traffic for this long is closed. */
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  ratePerSecond: number;
  burst: number;
  /** Client addresses tracked by the rate limiter at most. */
  maxClients: number;
  maxResponseBytes: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxHeaderBytes: 8 * 1024,
  maxUrlBytes: 2048,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  maxConnections: 256,
  maxConnectionsPerClient: 32,
  // A Prometheus, an operator collector and a kubelet each poll every few seconds: 20/s is far above
  // any of them and far below a flood.
  ratePerSecond: 20,
  burst: 40,
  maxClients: 4096,
  maxResponseBytes: 16 * 1024 * 1024,
});

export interface Reply {
  status: number;
  contentType?: string;
  body: string | Buffer;
}

export type Route = (url: URL, req: IncomingMessage) => Reply | Promise<Reply>;

export type RejectReason =
  'method' | 'body' | 'uri_too_long' | 'headers_too_large' | 'timeout' | 'malformed' | 'rate_limited' | 'connections' | 'response_too_large';

export interface HardenedServerOptions {
  routes: Record<string, Route>;
  limits?: Partial<HttpLimits>;
  /** Counts rejections as `minefleet_http_rejected_total{reason}` in this registry. */
  registry?: Registry;
}

const ALLOW = 'GET, HEAD';

function validate(l: HttpLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`http limits: ${k} must be a positive number, got ${String(v)}`);
  }
  if (l.headersTimeoutMs > l.requestTimeoutMs)
    throw new Error(`http limits: headersTimeoutMs (${l.headersTimeoutMs}) must not exceed requestTimeoutMs (${l.requestTimeoutMs})`);
}

function rejectedCounter(registry: Registry | undefined): Counter<'reason'> | undefined {
  if (!registry) return undefined;
  const name = 'minefleet_http_rejected_total';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'reason'>;
  return new Counter({ name, help: 'HTTP requests and connections refused by the endpoint limits, by reason', labelNames: ['reason'], registers: [registry] });
}

function send(res: ServerResponse, req: IncomingMessage, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers, 'content-length': String(buf.length) });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

export function createHardenedServer(opts: HardenedServerOptions): http.Server {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  validate(limits);
  const rejected = rejectedCounter(opts.registry);
  const reject = (reason: RejectReason): void => rejected?.inc({ reason });
  const buckets = new TokenBuckets({ ratePerSecond: limits.ratePerSecond, burst: limits.burst, maxKeys: limits.maxClients });
  const perClient = new Map<string, number>();
  const paths = Object.keys(opts.routes);

  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this interval (30 s by default): check often enough
      // that a slow client is cut off near its deadline.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      const client = req.socket.remoteAddress ?? 'unknown';
      const taken = buckets.take(client);
      if (!taken.ok) {
        reject('rate_limited');
        send(res, req, 429, `too many requests from ${client}; retry in ${taken.retryAfterSeconds}s\n`, { 'retry-after': String(taken.retryAfterSeconds) });
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        reject('method');
        send(res, req, 405, `method ${req.method} not allowed; this endpoint serves ${ALLOW}\n`, { allow: ALLOW });
        return;
      }
      const rawUrl = req.url ?? '/';
      if (Buffer.byteLength(rawUrl) > limits.maxUrlBytes) {
        reject('uri_too_long');
        send(res, req, 414, `request URI of ${Buffer.byteLength(rawUrl)} bytes exceeds the limit of ${limits.maxUrlBytes} bytes\n`);
        return;
      }
      const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
      if (hasBody) {
        reject('body');
        // The body is never read: close after answering so it cannot be smuggled as a next request.
        res.setHeader('connection', 'close');
        send(res, req, 413, `request bodies are not accepted by ${req.method} endpoints\n`);
        return;
      }
      let url: URL;
      try {
        url = new URL(rawUrl, 'http://endpoint');
      } catch {
        reject('malformed');
        send(res, req, 400, `malformed request URI\n`);
        return;
      }
      const route = opts.routes[url.pathname];
      if (!route) {
        send(res, req, 404, `no such path '${url.pathname}'; try ${paths.join(', ')}\n`);
        return;
      }
      Promise.resolve()
        .then(() => route(url, req))
        .then(
          (reply) => {
            const size = typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length;
            if (size > limits.maxResponseBytes) {
              reject('response_too_large');
              send(res, req, 500, `response of ${size} bytes exceeds the limit of ${limits.maxResponseBytes} bytes\n`);
              return;
            }
            send(res, req, reply.status, reply.body, reply.contentType ? { 'content-type': reply.contentType } : {});
          },
          (err: Error) => send(res, req, 500, `${url.pathname} failed: ${err.message}\n`),
        );
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => reject('connections'));
  server.setTimeout(limits.idleTimeoutMs);

  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? 'unknown';
    const n = (perClient.get(client) ?? 0) + 1;
    perClient.set(client, n);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
    if (n > limits.maxConnectionsPerClient) {
      reject('connections');
      socket.destroy();
    }
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const sent = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || sent) {
      socket.destroy();
      return;
    }
    let status = 400;
    let text = `malformed request (${err.code ?? err.message})`;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      text = `request headers exceed the limit of ${limits.maxHeaderBytes} bytes`;
      reject('headers_too_large');
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      text = `request head not received within ${limits.headersTimeoutMs} ms`;
      reject('timeout');
    } else {
      reject('malformed');
    }
    const body = `${text}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}

/** Listens and resolves with the bound port (0 picks a free one). */
export function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
