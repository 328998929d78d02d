#!/usr/bin/env node
/**
 * minefleet miner CLI.
 *   miner [run] --config FILE            mine (default; FILE defaults to /etc/minefleet/miner.yaml)
 *   miner hash HEADER_HEX [--bits HEX]   scrypt PoW hash of an 80-byte header, display order
 *   miner bench --threads N --seconds S  hashing speed as JSON
 *   miner supervise [--config FILE]      drive external miners (cgminer API) to the fleet's state
 *   miner emulate-asic [...]             an emulated scrypt ASIC (cgminer API) that really mines
 */
import { parseArgs } from 'node:util';
import { runBench } from './bench.js';
import { hashCommand } from './hash-command.js';
import { EMULATE_USAGE, UsageError, runEmulator } from './external/emulator/command.js';
import { SuperviseExit, runSupervise } from './external/supervise.js';
import { ExitError, VERSION, runMiner } from './miner.js';

const USAGE = `usage:
  miner [run] [--config FILE]
  miner hash HEADER_HEX [--bits HEX] [--kernel auto|native[-avx512|-avx2|-sse2|-scalar]|wasm-simd|node-crypto|ts-scrypt]
  miner bench [--threads N] [--seconds S] [--kernel auto|native[-avx512|-avx2|-sse2|-scalar]|wasm-simd|node-crypto|ts-scrypt]
  miner supervise [--config FILE]
${EMULATE_USAGE}`;

function keepRunning(stop: () => Promise<void>): number {
  const onSignal = (sig: string) => {
    process.stderr.write(`received ${sig}\n`);
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  return -1;
}

async function main(argv: string[]): Promise<number> {
  // Asked for help anywhere (`miner --help`, `miner hash -h`): usage on stdout, success.
  if (argv.some((a) => a === '--help' || a === '-h') || argv[0] === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const cmd = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'run';
  const rest = argv[0] && !argv[0].startsWith('-') ? argv.slice(1) : argv;
  let parsed;
  try {
    if (cmd === 'run') {
      parsed = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c', default: '/etc/minefleet/miner.yaml' } }, strict: true });
      const { stop } = await runMiner(parsed.values.config);
      return keepRunning(stop);
    }
    if (cmd === 'supervise') {
      parsed = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c', default: '/etc/minefleet/miner.yaml' } }, strict: true });
      try {
        const { stop } = await runSupervise(parsed.values.config, process.env, VERSION);
        return keepRunning(stop);
      } catch (e) {
        if (e instanceof SuperviseExit) throw new ExitError(e.message, e.code);
        throw e;
      }
    }
    if (cmd === 'emulate-asic') {
      try {
        const { stop } = await runEmulator(rest);
        return keepRunning(stop);
      } catch (e) {
        if (e instanceof UsageError) throw new ExitError(`${e.message}\n${USAGE}`, 2);
        throw e;
      }
    }
    if (cmd === 'hash') {
      parsed = parseArgs({ args: rest, options: { bits: { type: 'string' }, kernel: { type: 'string' } }, allowPositionals: true, strict: true });
      const out = hashCommand(parsed.positionals[0], parsed.values.bits, parsed.values.kernel);
      process.stdout.write(JSON.stringify(out) + '\n');
      return 0;
    }
    if (cmd === 'bench') {
      parsed = parseArgs({ args: rest, options: { threads: { type: 'string' }, seconds: { type: 'string' }, kernel: { type: 'string' } }, strict: true });
      const out = await runBench(parsed.values.threads, parsed.values.seconds, parsed.values.kernel);
      process.stdout.write(JSON.stringify(out) + '\n');
      return 0;
    }
    throw new ExitError(`unknown command '${cmd}'\n${USAGE}`, 2);
  } catch (e) {
    if (e instanceof ExitError) {
      process.stderr.write(e.message + '\n');
      return e.code;
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
