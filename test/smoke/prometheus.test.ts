import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, waitFor, type Prometheus } from '../support/index.js';

describe('Prometheus scraping a prom-client endpoint', () => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'smoke_hashrate_hashes_per_second', help: 'test value', labelNames: ['fleet'], registers: [registry] });
  let server: http.Server;
  let prom: Prometheus;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      void registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    prom = await startPrometheus({
      scrapeConfigs: [{ job_name: 'smoke', static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
    });
    console.log(`prometheus started in ${prom.startupMs} ms at ${prom.url}`);
  });

  afterAll(async () => {
    await prom?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('returns the value the test set through a PromQL query', async () => {
    gauge.set({ fleet: 'alpha' }, 1234.5);
    const samples = await waitFor(
      async () => {
        const result = await prom.query('smoke_hashrate_hashes_per_second{job="smoke"}');
        return result.length > 0 && result[0]?.value[1] === '1234.5' ? result : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'Prometheus to scrape the gauge' },
    );
    expect(samples).toHaveLength(1);
    expect(samples[0]?.metric).toMatchObject({ __name__: 'smoke_hashrate_hashes_per_second', fleet: 'alpha', job: 'smoke' });

    const up = await prom.query('up{job="smoke"}');
    expect(up[0]?.value[1]).toBe('1');
  });

  it("rejects an invalid PromQL query with Prometheus's error", async () => {
    await expect(prom.query('sum(')).rejects.toThrow(/prometheus query "sum\(" failed: .*parse error/);
  });
});
