import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedRegistry, type FeedRequest } from '../../operator/src/economics/feeds/index.js';
import { scrub } from '../../operator/src/economics/feeds/http.js';
import { startLitecoind, type Litecoind } from '../support/index.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const routes = new Map<string, Handler>();
let server: http.Server;
let base: string;
const hits = new Map<string, number>();

const json =
  (body: string, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const h = routes.get(path);
    if (h) h(req, res);
    else json('{"error":"no route"}', 404)(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const newRegistry = (metricsRegistry?: Registry) =>
  new FeedRegistry({ http: { timeoutMs: 1000, maxBytes: 64 * 1024 }, retries: 1, backoffMs: 50, readSecret: async () => undefined, metricsRegistry });

const priceReq = (path: string, fieldPath = 'litecoin.usd', subscriber = 'ns/a'): FeedRequest => ({
  namespace: 'ns',
  kind: 'price',
  source: { http: { url: `${base}${path}?apikey=SECRET123`, fieldPath, refreshSeconds: 10 } },
  maxAgeMs: 60_000,
  subscriber,
});

async function readSettled(reg: FeedRegistry, req: FeedRequest) {
  reg.read(req);
  await reg.settle();
  return reg.read(req);
}

describe('HTTP JSON feeds', () => {
  it('reads a number at fieldPath, once per URL per interval for all fleets and fields', async () => {
    routes.set('/good', json('{"litecoin":{"usd":71.4},"dogecoin":{"usd":0.1235}}'));
    const reg = newRegistry();
    const told: string[][] = [];
    reg.onUpdate((s) => told.push(s));
    const a = await readSettled(reg, priceReq('/good', 'litecoin.usd', 'ns/a'));
    const b = reg.read(priceReq('/good', 'dogecoin.usd', 'ns/b'));
    const c = reg.read(priceReq('/good', 'litecoin.usd', 'other/c'));
    expect(a).toMatchObject({ ok: true, value: 71.4 });
    expect(b).toMatchObject({ ok: true, value: 0.1235 });
    expect(c).toMatchObject({ ok: true, value: 71.4 });
    await reg.settle();
    expect(hits.get('/good')).toBe(1);
    expect(told[0]).toEqual(['ns/a']);
  });

  const bad: Array<[string, Handler, RegExp]> = [
    ['not JSON', (_q, r) => r.end('<html>oops</html>'), /response is not JSON \(starts with "<html>oops/],
    ['the field missing', json('{"litecoin":{}}'), /fieldPath "litecoin.usd": no key "usd" at litecoin/],
    ['a string', json('{"litecoin":{"usd":"71.4"}}'), /is a string \("71.4"\), not a JSON number/],
    ['NaN', json('{"litecoin":{"usd":NaN}}'), /not JSON/],
    ['Infinity', json('{"litecoin":{"usd":1e999}}'), /is Infinity, not a finite number/],
    ['0', json('{"litecoin":{"usd":0}}'), /is 0; a price must be positive/],
    ['negative', json('{"litecoin":{"usd":-3}}'), /is -3; a price must be positive/],
    ['1e308', json('{"litecoin":{"usd":1e308}}'), /is 1e\+308, above the plausible maximum 1000000000 for a price/],
    ['null', json('{"litecoin":{"usd":null}}'), /is null, not a number/],
    [
      'a 10 MiB body',
      (_q, r) => {
        r.writeHead(200, { 'content-type': 'application/json' });
        r.end('{"litecoin":{"usd":1},"pad":"' + 'x'.repeat(10 * 1024 * 1024) + '"}');
      },
      /exceeds the 65536-byte cap/,
    ],
    [
      'a 10 MiB body without content-length',
      (_q, r) => {
        r.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        for (let i = 0; i < 160; i++) r.write('x'.repeat(65536));
        r.end();
      },
      /exceeds the 65536-byte cap/,
    ],
    ['a 500', json('{"error":"down"}', 500), /HTTP 500/],
    [
      'a redirect loop',
      (_q, r) => {
        r.writeHead(302, { location: '/loop' });
        r.end();
      },
      /redirect/i,
    ],
    ['a server that never answers', () => undefined, /no answer within 1000 ms/],
  ];
  for (const [what, handler, message] of bad) {
    it(`a feed answering ${what} is an error naming the feed and the fault, never a value`, async () => {
      const path = `/bad-${what.replace(/\W+/g, '-')}`;
      routes.set(path, handler);
      if (what === 'a redirect loop') routes.set('/loop', handler);
      const reg = newRegistry();
      const r = await readSettled(reg, priceReq(path));
      expect(r.ok).toBe(false);
      const error = (r as { error: string }).error;
      expect(error).toMatch(message);
      expect(error).toContain(`${base}${path === '/bad-a-redirect-loop' ? '' : path}`);
      expect(error).not.toContain('SECRET123');
    }, 20_000);
  }

  it('a feed URL with a user name and password: the error (status, logs) names the fault, never the password', async () => {
    const reg = newRegistry();
    const url = base.replace('http://', 'http://feeduser:PW-IN-URL-77@') + '/price?apikey=SECRET123';
    const r = await readSettled(reg, { ...priceReq('/price'), source: { http: { url, fieldPath: 'litecoin.usd', refreshSeconds: 10 } } });
    expect(r.ok).toBe(false);
    const error = (r as { error: string }).error;
    // undici refuses such a URL and quotes it; the quoted URL is redacted
    expect(error).toMatch(/credentials/);
    expect(error).not.toContain('PW-IN-URL-77');
    expect(error).not.toContain('SECRET123');
    expect(scrub('see http://u:p@h:1/x and https://a:b@c/', 'http://u:p@h:1/x', 'http://h:1/x')).toBe('see http://h:1/x and https://***@c/');
  });

  it('one bad answer keeps the last good value until it is older than the max age; feed health is in metrics', async () => {
    let body = '{"litecoin":{"usd":80}}';
    routes.set('/flaky', (_q, r) => json(body)(_q, r));
    let now = 1_000_000;
    const metrics = new Registry();
    const reg = new FeedRegistry({
      http: { timeoutMs: 1000, maxBytes: 65536 },
      retries: 0,
      readSecret: async () => undefined,
      metricsRegistry: metrics,
      now: () => now,
    });
    const req = priceReq('/flaky');
    expect(await readSettled(reg, req)).toMatchObject({ ok: true, value: 80 });
    expect(await metrics.getSingleMetricAsString('minefleet_economics_feed_up')).toContain(`minefleet_economics_feed_up{source="${base}/flaky"} 1`);
    body = '{"litecoin":{"usd":"eighty"}}';
    now += 10_000; // refresh due
    const after = await readSettled(reg, req);
    expect(after).toMatchObject({ ok: true, value: 80 });
    expect((after as { lastError?: string }).lastError).toMatch(/is a string/);
    expect(await metrics.getSingleMetricAsString('minefleet_economics_feed_up')).toContain(`minefleet_economics_feed_up{source="${base}/flaky"} 0`);
    now += 51_000; // 61 s after the last good value
    const stale = reg.read(req);
    expect(stale.ok).toBe(false);
    expect((stale as { error: string }).error).toMatch(/is a string .*; last good value from 1970-01-01T00:16:40.000Z is older than the max age 60s/);
    await reg.settle();
    expect(await metrics.getSingleMetricAsString('minefleet_economics_feed_age_seconds')).toMatch(/source=".*\/flaky"\} 61/);
    const text = await metrics.metrics();
    expect(text).not.toContain('SECRET123');
  });

  it('a static value is checked like a fetched one', () => {
    const reg = newRegistry();
    expect(reg.read({ ...priceReq('/x'), source: { value: 71.4 } })).toMatchObject({ ok: true, value: 71.4 });
    expect(reg.read({ ...priceReq('/x'), kind: 'difficulty', source: { value: 0 } })).toMatchObject({
      ok: false,
      error: 'static value is 0; a difficulty must be positive',
    });
  });
});

describe('litecoind JSON-RPC feeds', () => {
  let ltc: Litecoind;
  beforeAll(async () => {
    ltc = await startLitecoind();
    await ltc.mine(1);
  }, 120_000);
  afterAll(async () => {
    await ltc?.stop();
  });

  const rpcReq = (kind: 'difficulty' | 'blockReward', secret = 'rpc'): FeedRequest => ({
    namespace: 'ns',
    kind,
    source: { litecoind: { url: ltc.rpcUrl, credentialsSecretRef: { name: secret, userKey: 'username', passwordKey: 'password' }, refreshSeconds: 60 } },
    maxAgeMs: 600_000,
    subscriber: 'ns/f',
  });

  it('reads difficulty from getmininginfo and the block reward from getblocktemplate, with the login from a Secret', async () => {
    const secrets: Record<string, Record<string, string>> = {
      'ns/rpc': { username: ltc.rpcUser, password: ltc.rpcPassword },
      'ns/wrong': { username: ltc.rpcUser, password: 'nope' },
    };
    const reg = new FeedRegistry({ http: { timeoutMs: 5000, maxBytes: 1 << 20 }, readSecret: async (ns, n) => secrets[`${ns}/${n}`] });
    const info = await ltc.rpc<{ difficulty: number }>('getmininginfo');
    const tpl = await ltc.rpc<{ coinbasevalue: number }>('getblocktemplate', [{ rules: ['segwit', 'mweb'] }]);
    expect(await readSettled(reg, rpcReq('difficulty'))).toMatchObject({ ok: true, value: info.difficulty });
    const reward = await readSettled(reg, rpcReq('blockReward'));
    expect(reward).toMatchObject({ ok: true, value: tpl.coinbasevalue / 1e8 });
    expect((reward as { value: number }).value).toBeGreaterThanOrEqual(12.5); // regtest subsidy after 1 block: 50 LTC halving every 150 blocks
    const wrong = await readSettled(reg, rpcReq('difficulty', 'wrong'));
    expect(wrong).toMatchObject({ ok: false });
    expect((wrong as { error: string }).error).toMatch(/RPC login refused \(HTTP 401\)/);
    expect((wrong as { error: string }).error).not.toContain('nope');
    const missing = await readSettled(reg, rpcReq('difficulty', 'absent'));
    expect((missing as { error: string }).error).toMatch(/Secret ns\/absent \(litecoind credentials\) not found/);
  }, 60_000);
});
