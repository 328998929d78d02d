import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, retryOnPortClash } from './ports.js';
import { systemBinPath } from './paths.js';
import { makeTempDir, removeTempDir, spawnProcess } from './process.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Instant PromQL query; returns the vector (a scalar/string answer becomes one sample with no labels). */
  query(promql: string): Promise<PromSample[]>;
  stop(): Promise<void>;
  pids(): number[];
  /** The generated prometheus.yml. */
  configFile: string;
  startupMs: number;
}

export interface PrometheusOptions {
  /** `scrape_configs` entries, as in prometheus.yml (job_name, static_configs, ...). */
  scrapeConfigs: object[];
  /** Rule files (absolute paths) evaluated every second. */
  ruleFiles?: string[];
}

/** Prometheus (Debian's) scraping every second with the given scrape configs. */
export function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  return retryOnPortClash(() => startPrometheusOnce(opts));
}

async function startPrometheusOnce(opts: PrometheusOptions): Promise<Prometheus> {
  const started = Date.now();
  const dir = makeTempDir('prometheus');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      ...(opts.ruleFiles?.length ? { rule_files: opts.ruleFiles } : {}),
      scrape_configs: opts.scrapeConfigs,
    }),
  );
  const proc = spawnProcess({
    name: 'prometheus',
    command: systemBinPath('prometheus'),
    args: [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    logFile: path.join(dir, 'prometheus.log'),
  });
  try {
    await proc.waitUntilReady(async () => proc.listensOn(port) && (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok, {
      timeoutMs: 60_000,
      intervalMs: 50,
      description: `prometheus ${url}/-/ready`,
    });
  } catch (err) {
    await proc.stop();
    await removeTempDir(dir);
    throw err;
  }
  let stopped = false;
  return {
    url,
    configFile,
    startupMs: Date.now() - started,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql }).toString()}`, {
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      if (body.status !== 'success' || !body.data) {
        throw new Error(`prometheus query ${JSON.stringify(promql)} failed: ${body.error ?? `HTTP ${res.status}`}`);
      }
      if (body.data.resultType === 'vector') return body.data.result as PromSample[];
      if (body.data.resultType === 'scalar' || body.data.resultType === 'string') {
        return [{ metric: {}, value: body.data.result as [number, string] }];
      }
      throw new Error(`prometheus query ${JSON.stringify(promql)} returned a ${body.data.resultType}; query() expects an instant vector`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop(5_000);
      await removeTempDir(dir);
    },
    pids: () => (proc.running ? [proc.pid] : []),
  };
}
