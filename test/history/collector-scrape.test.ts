import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMinerMetrics, shareKey, wantedLines } from '../../operator/src/collector/exposition.js';
import { boundedGet, ScrapeClient } from '../../operator/src/collector/http.js';
import { sharesDue, sharesSeen } from '../../operator/src/collector/shares.js';
import { minerText } from './miner-text.js';

describe('pre-filtering the exposition to the families the collector reads', () => {
  it("keeps every minefleet_miner_* family it reads and the start time, drops prom-client's defaults, and parses to the same reading", async () => {
    const text = await minerText((m) => {
      m.addHashes(0, 4242);
      m.shares.inc({ pool: 'p1', result: 'accepted', reason: '' }, 3);
      m.shares.inc({ pool: 'p1', result: 'stale', reason: 'job expired before submit' }, 1);
      m.setActivePool(['p0', 'p1'], 'p1');
      m.difficulty.set({ pool: 'p1' }, 2);
      m.setConnectionState('p1', 'authorized');
      m.jobAge.set(7);
    });
    const kept = wantedLines(text);
    const names = new Set(
      kept
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[ {]/)[0]),
    );
    expect([...names].sort()).toEqual(
      [
        'minefleet_miner_active_pool',
        'minefleet_miner_difficulty',
        'minefleet_miner_hashes_total',
        'minefleet_miner_hashrate_hashes_per_second',
        'minefleet_miner_job_age_seconds',
        'minefleet_miner_pool_connection_state',
        'minefleet_miner_shares_total',
        'process_start_time_seconds',
      ].sort(),
    );
    expect(kept).not.toMatch(/^nodejs_|^process_cpu|^minefleet_miner_thread_hashrate/m);
    // TYPE/HELP lines of kept families stay (the parser reads the counter type from them).
    expect(kept).toMatch(/^# TYPE minefleet_miner_hashes_total counter$/m);
    expect(kept.split('\n').length).toBeLessThan(text.split('\n').length / 3);
    const r = parseMinerMetrics(text);
    expect(r).toMatchObject({ hashesTotal: 4242, activePool: 'p1', difficulty: 2, connectionState: 'authorized', jobAgeSeconds: 7 });
    expect(r.shares.get(shareKey('p1', 'stale', 'job expired before submit'))).toBe(1);
  });

  it('keeps a wanted sample without TYPE line and a family whose name only starts like a wanted one is dropped', () => {
    const kept = wantedLines(
      [
        'minefleet_miner_hashes_total 9',
        'minefleet_miner_hashes_total_extra 1',
        'process_start_time_seconds_x 3',
        '# a comment',
        'process_start_time_seconds 17',
      ].join('\n'),
    );
    expect(kept).toBe('minefleet_miner_hashes_total 9\nprocess_start_time_seconds 17\n');
  });

  it('still names a malformed value of a wanted family', () => {
    expect(() => parseMinerMetrics('minefleet_miner_hashes_total 1\nminefleet_miner_shares_total{pool="p",result="accepted",reason=""} x1\n')).toThrow(
      /minefleet_miner_shares_total|not Prometheus text format/,
    );
  });
});

describe('when /shares is pulled', () => {
  const seen = (accepted: number, start: number | undefined = 100) => ({
    shares: new Map([[shareKey('p', 'accepted', ''), accepted]]),
    startTimeSeconds: start,
  });
  const cursor = { bootId: 'b', seq: 4 };
  it('pulls without a cursor or a complete pull, on new shares, and on a restarted process; skips unchanged counters', () => {
    expect(sharesDue(undefined, undefined, seen(3))).toBe(true);
    expect(sharesDue(cursor, undefined, seen(3))).toBe(true);
    expect(sharesDue(cursor, sharesSeen(seen(3)), seen(3))).toBe(false);
    expect(sharesDue(cursor, sharesSeen(seen(3)), seen(4))).toBe(true);
    // Same count by chance after a restart: the start time tells.
    expect(sharesDue(cursor, sharesSeen(seen(3, 100)), seen(3, 200))).toBe(true);
    // The total over every pool|result|reason: a rejected share moves it too.
    const two = { shares: new Map([...seen(3).shares, [shareKey('p', 'rejected', 'low difficulty share'), 1]]), startTimeSeconds: 100 };
    expect(sharesSeen(two).total).toBe(4);
    expect(sharesDue(cursor, sharesSeen(seen(3)), two)).toBe(true);
  });
});

describe('scrape HTTP client', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/port') res.writeHead(200).end(String(req.socket.remotePort));
      else if (req.url === '/ok') res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
      else if (req.url === '/big') res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
      else if (req.url === '/chunked-big') {
        res.writeHead(200);
        res.write('y'.repeat(3000));
        res.end('y'.repeat(3000));
      } else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('late'), 3000).unref();
      else res.writeHead(503).end('no');
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('returns the body; names a bad status, an oversized body (declared or streamed), a timeout, a refused connection and a cancellation', async () => {
    expect(await boundedGet(`${base}/ok`, 2000, 100)).toBe('hello');
    await expect(boundedGet(`${base}/nope`, 2000, 100)).rejects.toThrow('HTTP 503');
    await expect(boundedGet(`${base}/big`, 2000, 1000)).rejects.toThrow('response of 5000 bytes exceeds 1000');
    await expect(boundedGet(`${base}/chunked-big`, 2000, 4000)).rejects.toThrow('response exceeds 4000 bytes');
    await expect(boundedGet(`${base}/slow`, 200, 1000)).rejects.toThrow('timed out after 200 ms');
    // A loopback port nothing listens on (the server's, once closed, would race; 1 is never ours).
    const refused = await boundedGet('http://127.0.0.1:1/metrics', 2000, 100).catch((e: unknown) => e as Error & { cause?: { code?: string } });
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe('ECONNREFUSED');
    expect((refused as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    const ctl = new AbortController();
    const p = boundedGet(`${base}/slow`, 5000, 1000, ctl.signal);
    ctl.abort(new Error('leader lease lost'));
    await expect(p).rejects.toThrow('cancelled');
    const pre = new AbortController();
    pre.abort();
    await expect(boundedGet(`${base}/ok`, 5000, 1000, pre.signal)).rejects.toThrow('cancelled');
  });

  it('reuses the socket for a pod’s second request and closes idle sockets soon after', async () => {
    const client = new ScrapeClient();
    try {
      // The client's port as the server saw it: the same port is the same connection.
      const first = await client.get(`${base}/port`, 2000, 100);
      expect(await client.get(`${base}/port`, 2000, 100)).toBe(first);
      // Idle past IDLE_SOCKET_MS: the client has closed it, so nothing idles until the next cycle.
      const deadline = Date.now() + ScrapeClient.IDLE_SOCKET_MS + 3000;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(sockets.size).toBe(0);
      expect(await client.get(`${base}/port`, 2000, 100)).not.toBe(first);
    } finally {
      client.close();
    }
  });
});
