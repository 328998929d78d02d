/**
 * `miner emulate-asic`: one or more emulated ASICs, each with its cgminer API on its own port.
 * The device starts with no pool (like a fresh unit) unless --pool is given; the supervisor
 * (or an operator with a cgminer API tool) adds and switches pools.
 */
import { parseArgs } from 'node:util';
import { isKernelName } from '../../hash/select.js';
import { createLogger } from '../../log.js';
import { MODELS, QUIRKS, modelById, type Quirk } from '../models.js';
import { AsicApiServer, DEFAULT_TRUNCATE_EVERY } from './api-server.js';
import { EmulatedAsic } from './asic.js';

export const EMULATE_USAGE = `  miner emulate-asic [--model ${MODELS.map((m) => m.id).join('|')}] [--host H] [--port P] [--count N]
                     [--hashrate H/s] [--ambient C] [--thermal-tau S] [--pool-dead-seconds S]
                     [--quirks ${QUIRKS.join(',')}|none] [--truncate-every N]
                     [--read-only] [--save-file F]
                     [--pool URL --user USER]   (password from env MINEFLEET_EMU_POOL_PASSWORD)`;

export class UsageError extends Error {}

function num(v: string | undefined, what: string, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${what}: '${v}' is not a number >= ${min}`);
  return n;
}

export async function runEmulator(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stop: () => Promise<void>; ports: number[] }> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      model: { type: 'string', default: 'antminer-l3plus' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '4028' },
      count: { type: 'string', default: '1' },
      hashrate: { type: 'string' },
      ambient: { type: 'string' },
      'thermal-tau': { type: 'string' },
      'pool-dead-seconds': { type: 'string' },
      quirks: { type: 'string' },
      'truncate-every': { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      'save-file': { type: 'string' },
      pool: { type: 'string' },
      user: { type: 'string' },
      kernel: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    },
  });
  const model = modelById(values.model);
  if (!model) throw new UsageError(`--model: unknown model '${values.model}' (${MODELS.map((m) => m.id).join(', ')})`);
  let quirks: Quirk[] = model.quirks;
  if (values.quirks !== undefined) {
    const list = values.quirks === 'none' || values.quirks === '' ? [] : values.quirks.split(',').map((s) => s.trim());
    const bad = list.filter((q) => !(QUIRKS as readonly string[]).includes(q));
    if (bad.length) throw new UsageError(`--quirks: unknown quirk(s) ${bad.join(', ')} (${QUIRKS.join(', ')} or none)`);
    quirks = list as Quirk[];
  }
  const truncateEvery = num(values['truncate-every'], 'truncate-every', DEFAULT_TRUNCATE_EVERY, 1);
  if (!Number.isInteger(truncateEvery)) throw new UsageError(`--truncate-every: '${values['truncate-every']}' is not a whole number`);
  if (values['truncate-every'] !== undefined && !quirks.includes('truncated'))
    throw new UsageError(`--truncate-every: needs the truncated quirk (--quirks ...,truncated); model ${model.id} has ${quirks.join(',') || 'none'}`);
  if (values.kernel !== undefined && !isKernelName(values.kernel)) throw new UsageError(`--kernel: unknown kernel '${values.kernel}'`);
  if (values.pool && !values.user) throw new UsageError('--pool needs --user');
  const count = num(values.count, 'count', 1, 1);
  const basePort = num(values.port, 'port', 4028, 0);
  const log = createLogger(values['log-level'], { component: 'emulate-asic', model: model.id });
  const devices: Array<{ asic: EmulatedAsic; api: AsicApiServer }> = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const asic = new EmulatedAsic({
      model,
      hashrate: num(values.hashrate, 'hashrate', 300, 1),
      ambientCelsius: num(values.ambient, 'ambient', 25, -40),
      tauSeconds: num(values['thermal-tau'], 'thermal-tau', 20, 0.01),
      poolDeadMs: num(values['pool-dead-seconds'], 'pool-dead-seconds', 3, 0.1) * 1000,
      ...(values.kernel && isKernelName(values.kernel) ? { kernel: values.kernel } : {}),
      log: log.child({ device: i }),
    });
    if (values.pool) asic.addPool(values.pool, values.user!, env.MINEFLEET_EMU_POOL_PASSWORD ?? 'x');
    const api = new AsicApiServer(asic, {
      host: values.host,
      port: basePort === 0 ? 0 : basePort + i,
      quirks,
      truncateEvery,
      allowPrivileged: !values['read-only'],
      ...(values['save-file'] ? { saveFile: count > 1 ? `${values['save-file']}.${i}` : values['save-file'] } : {}),
    });
    const port = await api.start();
    ports.push(port);
    devices.push({ asic, api });
    log.info(
      { device: i, host: values.host, port, quirks, ...(quirks.includes('truncated') ? { truncateEvery } : {}), hashrate: asic.opts.hashrate },
      'emulated ASIC API listening',
    );
  }
  return {
    ports,
    stop: async () => {
      await Promise.all(
        devices.map(async (d) => {
          await d.api.stop();
          await d.asic.stop();
        }),
      );
    },
  };
}
