/**
 * The endpoint limits, driven over real sockets against each minefleet HTTP server: the miner's
 * (/metrics, /shares, /healthz, /readyz), the supervisor's (`miner supervise` itself, run in this
 * process on a config file, driving an emulated ASIC that mines on a test pool: /metrics,
 * /healthz, /readyz) and the operator's probes + metrics. Each hostile client comes from its own
 * loopback address (127.0.0.2+) while a legitimate scraper on 127.0.0.1 must keep getting 200.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { runEmulator } from '../../miner/src/external/emulator/command.js';
import { runSupervise } from '../../miner/src/external/supervise.js';
import { startMetricsServer } from '../../miner/src/metrics/server.js';
import { ShareRing } from '../../miner/src/metrics/share-ring.js';
import type { HttpLimits } from '../../miner/src/metrics/hardened-server.js';
import { HealthServer } from '../../operator/src/runtime/health.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, POOL_PASSWORD } from '../miner/helpers.js';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; localAddress?: string; body?: string } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends raw bytes and collects whatever comes back until the server closes the socket. */
function raw(port: number, data: string, localAddress = '127.0.0.4'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (out += c));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.on('connect', () => s.write(data));
  });
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const TEST_LIMITS: Partial<HttpLimits> = {
  headersTimeoutMs: 1000,
  requestTimeoutMs: 2000,
  keepAliveTimeoutMs: 1000,
  idleTimeoutMs: 1500,
  maxConnections: 64,
  maxConnectionsPerClient: 4,
  ratePerSecond: 5,
  burst: 10,
};

interface Target {
  port: number;
  scrape: string;
  paths: string[];
  stop(): Promise<void>;
}

/** One emulated ASIC on one test pool, shared by the supervisor's cases (started on first use). */
let farm: Promise<{ pool: StratumPool; asic: Awaited<ReturnType<typeof runEmulator>>; dir: string }> | undefined;
const supervisorFarm = () =>
  (farm ??= (async () => {
    const pool = await startStratumPool({ difficulty: 0.002 });
    const asic = await runEmulator(['--port', '0', '--count', '1', '--hashrate', '50', '--log-level', 'error']);
    return { pool, asic, dir: mkdtempSync(join(tmpdir(), 'http-hardening-supervise-')) };
  })());
afterAll(async () => {
  if (!farm) return;
  const { pool, asic, dir } = await farm;
  await asic.stop();
  await pool.stop();
  rmSync(dir, { recursive: true, force: true });
});

const targets: Record<string, (limits: Partial<HttpLimits>) => Promise<Target>> = {
  miner: async (limits) => {
    const registry = new Registry();
    const ring = new ShareRing(16);
    const s = await startMetricsServer('127.0.0.1', 0, registry, { ready: () => ({ ok: true, reason: 'mining on p1' }) }, ring, limits);
    return {
      port: s.port,
      scrape: '/metrics',
      paths: ['/metrics', '/shares?after=0', '/healthz', '/readyz'],
      stop: () =>
        new Promise<void>((r) => {
          s.close(() => r());
          s.closeAllConnections();
        }),
    };
  },
  supervisor: async (limits) => {
    const { pool, asic, dir } = await supervisorFarm();
    const configPath = join(dir, 'miner.yaml');
    const cfg = baseConfig([poolEntry('p1', pool.url)], 'p1', {
      fleet: 'farm',
      pod: 'sup-0',
      logLevel: 'error',
      external: { devices: [{ name: 'asic-0', host: '127.0.0.1', port: asic.ports[0]! }], pollIntervalSeconds: 1 },
    });
    writeFileSync(configPath, JSON.stringify(cfg));
    const sup = await runSupervise(configPath, { POOL_USER: 'tester', POOL_PASS: POOL_PASSWORD }, 'test', { httpLimits: limits });
    // Ready once the device answered its first poll; polled from an address of its own (rate limit).
    const end = Date.now() + 20_000;
    for (;;) {
      const r = await request(sup.port, '/readyz', { localAddress: '127.0.0.7' }).catch(() => undefined);
      if (r?.status === 200) {
        expect(r.body).toBe('1/1 devices answering\n');
        break;
      }
      if (Date.now() > end) throw new Error(`supervisor not ready within 20 s: ${r ? `${r.status} ${r.body}` : 'no answer'}`);
      await new Promise((x) => setTimeout(x, 300));
    }
    return { port: sup.port, scrape: '/metrics', paths: ['/metrics', '/healthz', '/readyz'], stop: () => sup.stop() };
  },
  operator: async (limits) => {
    const hs = new HealthServer({ healthz: { ping: () => true }, readyz: { informers: () => true } }, new Registry(), limits);
    await hs.start({ probePort: 0, metricsPort: 0, host: '127.0.0.1' });
    // Probes and metrics on two ports: these checks use the metrics port; the probe port is checked below.
    return { port: hs.ports.metrics!, scrape: '/metrics', paths: ['/metrics'], stop: () => hs.stop() };
  },
};

describe.each(Object.keys(targets))('%s HTTP endpoint hardening', (name) => {
  let t: Target | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });
  const start = async (limits: Partial<HttpLimits> = TEST_LIMITS): Promise<Target> => (t = await targets[name]!(limits));
  const scrapeOk = async (tt: Target): Promise<void> => {
    const r = await request(tt.port, tt.scrape);
    expect(r.status).toBe(200);
    expect(r.body).toContain('minefleet_http_rejected_total');
  };

  it('serves its paths with GET and HEAD, and answers other methods 405 with Allow', async () => {
    const tt = await start();
    for (const p of tt.paths) expect((await request(tt.port, p)).status, p).toBe(200);
    const head = await request(tt.port, tt.scrape, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await request(tt.port, tt.scrape, { method, localAddress: '127.0.0.5' });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
      expect(r.body).toContain(`method ${method} not allowed`);
    }
    expect((await request(tt.port, '/nope')).status).toBe(404);
  });

  it('answers malformed requests 400, request bodies 413, long URIs 414, oversized headers 431, and keeps scraping', async () => {
    const tt = await start();
    expect(await raw(tt.port, 'GARBAGE \x01\x02 NOT HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request[\s\S]*malformed request/);
    expect(await raw(tt.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    await scrapeOk(tt);
    const body = await request(tt.port, tt.scrape, {
      headers: { 'content-type': 'text/plain', 'content-length': '5' },
      body: 'hello',
      localAddress: '127.0.0.5',
    });
    expect(body.status).toBe(413);
    expect(body.body).toContain('request bodies are not accepted');
    const long = await request(tt.port, `${tt.scrape}?x=${'a'.repeat(3000)}`, { localAddress: '127.0.0.5' });
    expect(long.status).toBe(414);
    expect(long.body).toContain('exceeds the limit of 2048 bytes');
    const big = await raw(tt.port, `GET ${tt.scrape} HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 [\s\S]*request headers exceed the limit of 8192 bytes/);
    await scrapeOk(tt);
    const m = await request(tt.port, '/metrics');
    for (const reason of ['malformed', 'body', 'uri_too_long', 'headers_too_large'])
      expect(m.body).toMatch(new RegExp(`minefleet_http_rejected_total\\{reason="${reason}"\\} [1-9]`));
  });

  it('cuts a slow-loris client off at the headers timeout and caps its connections, while a scrape gets 200', async () => {
    const tt = await start();
    const sockets: net.Socket[] = [];
    const closed = new Set<net.Socket>();
    const replies = new Map<net.Socket, string>();
    // Eight connections from one address, each dribbling a header line every 100 ms and never finishing.
    for (let i = 0; i < 8; i++) {
      const s = net.connect({ host: '127.0.0.1', port: tt.port, localAddress: '127.0.0.2' });
      s.setEncoding('utf8');
      s.on('error', () => {});
      s.on('data', (c: string) => replies.set(s, (replies.get(s) ?? '') + c));
      s.on('close', () => closed.add(s));
      sockets.push(s);
    }
    const dribble = setInterval(() => {
      for (const s of sockets) if (!closed.has(s) && s.writable) s.write(s.bytesWritten === 0 ? `GET ${tt.scrape} HTTP/1.1\r\nHost: x\r\n` : 'X-Slow: 1\r\n');
    }, 100);
    try {
      // The scrape keeps working while the slow clients hold their connections.
      await waitFor(() => sockets.some((s) => s.bytesWritten > 40), 'slow clients to be dribbling');
      await scrapeOk(tt);
      await waitFor(() => closed.size === sockets.length, 'every slow-loris connection to be closed');
      // At most 4 (the per-client cap) got as far as a reply; those were told why.
      const answered = [...replies.values()];
      expect(answered.length).toBeLessThanOrEqual(4);
      for (const r of answered) expect(r).toMatch(/^HTTP\/1\.1 408 [\s\S]*request head not received within 1000 ms/);
      await scrapeOk(tt);
      const m = await request(tt.port, '/metrics');
      expect(m.body).toMatch(/minefleet_http_rejected_total\{reason="connections"\} [1-9]/);
    } finally {
      clearInterval(dribble);
      for (const s of sockets) s.destroy();
    }
  });

  it('closes an idle keep-alive connection', async () => {
    const tt = await start();
    const s = net.connect({ host: '127.0.0.1', port: tt.port, localAddress: '127.0.0.6' });
    let closed = false;
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (got += c));
    s.on('close', () => (closed = true));
    s.on('error', () => {});
    await new Promise<void>((r) => s.on('connect', () => r()));
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`.replace('/healthz', tt.paths.includes('/healthz') ? '/healthz' : tt.scrape));
    await waitFor(() => closed, 'the server to close the idle keep-alive connection');
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('rate-limits a flooding client with 429 + Retry-After while another client scrapes 200', async () => {
    const tt = await start();
    let flooding = true;
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    const flooder = (async () => {
      while (flooding) {
        const r = await request(tt.port, tt.scrape, { localAddress: '127.0.0.3' }).catch(() => undefined);
        if (r) statuses.push(r.status);
        if (r?.status === 429) retryAfter = r.headers['retry-after'];
      }
    })();
    try {
      await waitFor(() => statuses.includes(429), 'the flooder to be rate limited');
      for (let i = 0; i < 3; i++) await scrapeOk(tt);
    } finally {
      flooding = false;
      await flooder;
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10); // its burst was served
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const m = await request(tt.port, '/metrics');
    expect(m.body).toMatch(/minefleet_http_rejected_total\{reason="rate_limited"\} [1-9]/);
  });

  it('refuses a response larger than its bound with a message naming the limit', async () => {
    const tt = await start({ ...TEST_LIMITS, maxResponseBytes: 64 });
    const r = await request(tt.port, tt.scrape);
    expect(r.status).toBe(500);
    expect(r.body).toMatch(/response of \d+ bytes exceeds the limit of 64 bytes/);
  });
});

describe('endpoint limits configuration', () => {
  it('rejects nonsense limits with an error naming the field', async () => {
    await expect(
      startMetricsServer('127.0.0.1', 0, new Registry(), { ready: () => ({ ok: true, reason: '' }) }, undefined, { headersTimeoutMs: 0 }),
    ).rejects.toThrow(/headersTimeoutMs must be a positive number, got 0/);
    await expect(
      startMetricsServer('127.0.0.1', 0, new Registry(), { ready: () => ({ ok: true, reason: '' }) }, undefined, {
        headersTimeoutMs: 5000,
        requestTimeoutMs: 1000,
      }),
    ).rejects.toThrow(/headersTimeoutMs \(5000\) must not exceed requestTimeoutMs \(1000\)/);
  });

  it('the operator probe port answers its probes behind the same limits', async () => {
    const hs = new HealthServer({ healthz: { ping: () => true }, readyz: { informers: () => 'cache not synced' } }, new Registry(), TEST_LIMITS);
    await hs.start({ probePort: 0, metricsPort: 0, host: '127.0.0.1' });
    try {
      expect((await request(hs.ports.probe!, '/healthz')).status).toBe(200);
      const ready = await request(hs.ports.probe!, '/readyz');
      expect(ready.status).toBe(500);
      expect(ready.body).toContain('[-]informers failed: cache not synced');
      expect((await request(hs.ports.probe!, '/healthz', { method: 'POST' })).status).toBe(405);
      expect((await request(hs.ports.probe!, '/metrics')).status).toBe(404);
    } finally {
      await hs.stop();
    }
  });
});
