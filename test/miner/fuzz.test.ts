/**
 * Malformed input: more than 10,000 random and mutated Stratum lines pushed at a mining process.
 * It must stay up, log a clear error per bad line, and still get shares accepted afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, startMiner, waitFor, type MinerProcess } from './helpers.js';

const DIFF = 0.004;

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus(count: number, seed = 42): string[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');
  const notify = (): unknown[] => ['j' + hex(4), hex(64), hex(80), hex(40), [hex(64)], '20000000', '207fffff', '6b000000', r() < 0.5];
  const templates: Array<() => unknown> = [
    () => ({ id: null, method: 'mining.notify', params: notify() }),
    () => ({ id: null, method: 'mining.set_difficulty', params: [0.004] }),
    () => ({ id: Math.floor(r() * 50), result: true, error: null }),
    () => ({ id: Math.floor(r() * 50), result: null, error: [23, 'Low difficulty share', null] }),
    () => ({ id: null, method: 'client.show_message', params: ['hi'] }),
  ];
  const wrongValues = [null, true, 42, -1, Infinity, 'zz', '', [], {}, [[[]]], 'g'.repeat(64), hex(63), hex(66), '0x' + hex(62), NaN];
  const generators: Array<() => string> = [
    // not JSON at all
    () => Array.from({ length: 1 + Math.floor(r() * 60) }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join(''),
    // truncated JSON
    () => {
      const s = JSON.stringify(pick(templates)());
      return s.slice(0, Math.floor(r() * (s.length - 1)));
    },
    // valid JSON, not an object
    () => JSON.stringify(pick([42, 'mining.notify', null, [1, 2, 3], true, [{ id: 1 }]])),
    // unknown methods
    () => JSON.stringify({ id: pick([null, 7, 'x']), method: pick(['mining.explode', 'client.nope', 'x'.repeat(200), 'mining.set_target', '']), params: [] }),
    // wrong types in mining.notify
    () => {
      const p = notify();
      p[Math.floor(r() * p.length)] = pick(wrongValues);
      return JSON.stringify({ id: null, method: 'mining.notify', params: p });
    },
    // out-of-range hex / sizes
    () => {
      const p = notify();
      const i = pick([1, 2, 3, 5, 6, 7]);
      p[i] = pick(['zz'.repeat(32), hex(7), hex(9), 'x', hex(65)]);
      return JSON.stringify({ id: null, method: 'mining.notify', params: p });
    },
    () => JSON.stringify({ id: null, method: 'mining.notify', params: notify().slice(0, Math.floor(r() * 8)) }),
    () => JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [pick([-1, 0, 'big', null, 1e300, [], {}])] }),
    () => JSON.stringify({ id: null, method: 'mining.set_extranonce', params: [pick(['zz', hex(3), 12, null, hex(100)]), pick([99, -1, 'x', 1.5])] }),
    () => JSON.stringify({ id: null, method: 'client.reconnect', params: [pick([{}, [], true]), pick(['x', -5, 99999]), pick([-1, 'soon'])] }),
    () => JSON.stringify({ id: null, method: 'mining.notify', params: pick([null, 'x', 5, {}]) }),
    // responses with odd ids/errors
    () =>
      JSON.stringify({ id: pick([{}, [], true, 1e9, -3, 'abc']), result: pick([true, false, null, 'ok']), error: pick([null, [1], 'x', { code: 'a' }, 5]) }),
    // byte-level mutations of valid messages
    () => {
      const s = JSON.stringify(pick(templates)());
      const chars = s.split('');
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) {
        const at = Math.floor(r() * chars.length);
        const op = r();
        if (op < 0.33) chars.splice(at, 1);
        else if (op < 0.66) chars.splice(at, 0, pick(['"', '{', ']', ',', 'g', '\\', '\u0000', '9']));
        else chars[at] = pick(['"', '}', 'z', ':', '-']);
      }
      return chars.join('');
    },
  ];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(pick(generators)().replace(/[\r\n]/g, ' '));
  // A few huge lines: over the miner's 256 KiB cap, and big-but-under-cap garbage.
  lines.push('x'.repeat(300 * 1024), '{"id":null,"method":"mining.notify","params":["' + 'a'.repeat(400 * 1024) + '"]}', '{' + ' '.repeat(100 * 1024));
  return lines;
}

describe('malformed pool input', () => {
  let pool: StratumPool;
  let miner: MinerProcess;
  beforeAll(async () => {
    pool = await startStratumPool({ difficulty: DIFF });
    miner = await startMiner(baseConfig([poolEntry('p', pool.url)], 'p'));
  });
  afterAll(async () => {
    await miner?.stop();
    await pool?.stop();
  });

  it('survives 10,000+ random and mutated lines, logs clear errors, keeps mining', async () => {
    await waitFor('first accepted share', () => pool.shares.some((s) => s.result === 'accepted'), 60_000);
    const lines = corpus(10_000);
    expect(lines.length).toBeGreaterThanOrEqual(10_000);
    for (let i = 0; i < lines.length; i++) {
      pool.sendRaw(lines[i]!);
      if (i % 500 === 0) await new Promise((r) => setImmediate(r)); // let the socket drain
    }
    // Nearly every line is bad (a mutation can by chance still be valid).
    await waitFor('bad lines counted', async () => (await miner.metric('minefleet_miner_bad_messages_total')) >= 9_000, 90_000, 250);
    // The huge lines come last.
    await waitFor(
      'over-long lines dropped',
      async () => (await miner.metric('minefleet_miner_bad_messages_total', { kind: 'line_too_long' })) >= 2,
      90_000,
      250,
    );
    expect(miner.alive()).toBe(true);
    // Each kind of bad line is reported with a clear reason (stdout may trail the metric a bit).
    for (const re of [
      /bad message from pool: not valid JSON/,
      /mining\.notify params invalid: .*must be .*hex/,
      /unknown method/,
      /line exceeds 262144 bytes/,
      /expected a JSON object/,
      /mining\.set_difficulty params invalid/,
    ]) {
      await waitFor(`log line matching ${re}`, () => miner.logs.some((l) => l.level >= 50 && re.test(String(l.msg))), 30_000);
    }
    expect(await miner.metric('minefleet_miner_bad_messages_total', { kind: 'line_too_long' })).toBeGreaterThanOrEqual(2);

    // The pool sets the difficulty and a clean job again; shares must flow and be accepted.
    pool.setDifficulty(DIFF);
    await pool.sendNewJob({ clean: true });
    const t = Date.now();
    await waitFor('accepted shares after the storm', () => pool.shares.filter((s) => s.result === 'accepted' && s.receivedAt > t).length >= 3, 90_000);
    expect(miner.alive()).toBe(true);
  });
});
