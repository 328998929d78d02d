// The Stratum protocol side of the test pool, on synthetic jobs (no litecoind needed): share
// checking and its error codes, behaviours the miner tests rely on, TLS, garbage tolerance.
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStratumPool, StratumError, type StratumPool } from '../support/stratum/index.js';
import { readyClient, until } from './helpers.js';
import { shareTarget, StratumTestClient } from './stratum-test-client.js';

const clients: StratumTestClient[] = [];
const track = (c: StratumTestClient): StratumTestClient => {
  clients.push(c);
  return c;
};
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('stratum test pool: shares and error codes', () => {
  let pool: StratumPool;
  beforeAll(async () => {
    pool = await startStratumPool({ difficulty: 0.001 });
  });
  afterAll(async () => {
    await pool?.stop();
  });

  it('answers subscribe with subscriptions, extranonce1 and extranonce2 size, then sends difficulty and a job', async () => {
    const c = track(await StratumTestClient.connect(pool.port));
    const sub = await c.subscribe();
    expect(sub.error).toBeNull();
    const [subs, e1, e2size] = sub.result as [Array<[string, string]>, string, number];
    expect(subs.map((s) => s[0])).toEqual(['mining.set_difficulty', 'mining.notify']);
    expect(e1).toMatch(/^[0-9a-f]{8}$/);
    expect(e2size).toBe(4);
    expect((await c.request('mining.extranonce.subscribe', [])).result).toBe(true);
    expect((await c.authorize('alice.rig1', 'secret')).result).toBe(true);
    const job = await c.waitForJob();
    expect(c.notifications.find((n) => n.method === 'mining.set_difficulty')?.params).toEqual([0.001]);
    expect(job.clean).toBe(true);
    expect(job.prevhash).toMatch(/^[0-9a-f]{64}$/);
    expect(job.nbits).toBe('207fffff');
    expect(pool.authorizedWorkers()).toContain('alice.rig1');
    expect(pool.logins).toContainEqual({ worker: 'alice.rig1', password: 'secret' });
    expect(pool.clientCount()).toBeGreaterThanOrEqual(1);
  });

  it('accepts a valid share and records it', async () => {
    const c = track(await readyClient(pool, 'alice.valid'));
    const share = c.findShare(c.latestJob()!);
    const answer = await c.submit('alice.valid', share);
    expect(answer).toMatchObject({ result: true, error: null });
    const rec = pool.shares.find((s) => s.worker === 'alice.valid' && s.nonce === share.nonce);
    expect(rec).toMatchObject({ result: 'accepted', jobId: share.jobId, extranonce2: share.extranonce2, difficulty: 0.001 });
    expect(rec!.isBlock).toBe(share.pow <= 0x7fffffn << 232n);
  });

  it('rejects a share below the share target with 23', async () => {
    const c = track(await readyClient(pool, 'alice.low'));
    const bad = c.findShare(c.latestJob()!, { below: false });
    expect(bad.pow > shareTarget(0.001)).toBe(true);
    const answer = await c.submit('alice.low', bad);
    expect(answer.error?.[0]).toBe(StratumError.LOW_DIFFICULTY);
    expect(pool.shares.at(-1)).toMatchObject({ worker: 'alice.low', result: 'rejected', reason: 'Low difficulty share' });
  });

  it('rejects an unknown job with 21, a duplicate with 22, an unauthorized worker with 24', async () => {
    const c = track(await readyClient(pool, 'alice.codes'));
    const share = c.findShare(c.latestJob()!);
    expect((await c.submit('alice.codes', { ...share, jobId: 'nosuchjob' })).error?.[0]).toBe(StratumError.JOB_NOT_FOUND);
    expect((await c.submit('alice.codes', share)).result).toBe(true);
    const dup = await c.submit('alice.codes', share);
    expect(dup.error?.[0]).toBe(StratumError.DUPLICATE_SHARE);
    const other = c.findShare(c.latestJob()!, { startNonce: Number.parseInt(share.nonce, 16) + 1 });
    expect((await c.submit('mallory.w', other)).error?.[0]).toBe(StratumError.UNAUTHORIZED);
  });

  it('rejects malformed submits with 20 and a submit before subscribe with 25', async () => {
    const c = track(await readyClient(pool, 'alice.bad'));
    const share = c.findShare(c.latestJob()!);
    const cases: Array<[string, unknown[]]> = [
      ['short extranonce2', ['alice.bad', share.jobId, '00', share.ntime, share.nonce]],
      ['ntime not hex', ['alice.bad', share.jobId, share.extranonce2, 'zzzzzzzz', share.nonce]],
      ['ntime far in the future', ['alice.bad', share.jobId, share.extranonce2, 'ffffffff', share.nonce]],
      ['nonce too long', ['alice.bad', share.jobId, share.extranonce2, share.ntime, '0000000000']],
      ['wrong types', ['alice.bad', 5, {}, [], null]],
      ['extranonce2 not a string', ['alice.bad', share.jobId, 12345678, share.ntime, share.nonce]],
    ];
    for (const [what, params] of cases) {
      const a = await c.request('mining.submit', params);
      expect(a.error?.[0], what).toBe(StratumError.OTHER);
    }
    const lone = track(await StratumTestClient.connect(pool.port));
    expect((await lone.authorize('bob.w')).result).toBe(true);
    const a = await lone.request('mining.submit', ['bob.w', share.jobId, share.extranonce2, share.ntime, share.nonce]);
    expect(a.error?.[0]).toBe(StratumError.NOT_SUBSCRIBED);
    expect((await lone.request('mining.frobnicate', [])).error?.[0]).toBe(StratumError.OTHER);
  });

  it('sendNewJob({clean:true}) makes earlier jobs stale (21); a non-clean job keeps them valid', async () => {
    const c = track(await readyClient(pool, 'alice.clean'));
    const first = c.latestJob()!;
    const n = c.jobs().length;
    await pool.sendNewJob({ clean: false });
    const second = await c.waitForJob(n);
    expect(second.clean).toBe(false);
    expect(second.prevhash).toBe(first.prevhash);
    expect((await c.submit('alice.clean', c.findShare(first))).result).toBe(true);
    await pool.sendNewJob({ clean: true });
    const third = await c.waitForJob(n + 1);
    expect(third.clean).toBe(true);
    expect(third.prevhash).not.toBe(first.prevhash);
    const stale = await c.submit('alice.clean', c.findShare(second));
    expect(stale.error?.[0]).toBe(StratumError.JOB_NOT_FOUND);
    expect((await c.submit('alice.clean', c.findShare(third))).result).toBe(true);
  });

  it('setDifficulty sends mining.set_difficulty and checks later shares against it', async () => {
    const c = track(await readyClient(pool, 'alice.diff'));
    pool.setDifficulty(0.0005);
    await c.waitFor('set_difficulty 0.0005', () => c.difficulty === 0.0005);
    const n = c.jobs().length;
    await pool.sendNewJob({ clean: true });
    const job = await c.waitForJob(n);
    // A hash that meets 0.0005 but not 0.001 is now good.
    const share = c.findShare(job, { target: shareTarget(0.0005) });
    expect((await c.submit('alice.diff', share)).result).toBe(true);
    expect(pool.shares.at(-1)?.difficulty).toBeGreaterThanOrEqual(0.0005);
    pool.setDifficulty(0.001);
  });

  it('setExtranonce sends mining.set_extranonce and a clean job built for the new extranonce', async () => {
    const p = await startStratumPool({ difficulty: 0.001 });
    try {
      const c = track(await readyClient(p, 'carol.w'));
      const n = c.jobs().length;
      p.setExtranonce('a1b2c3', 6);
      await c.waitFor('set_extranonce', () => c.notifications.some((x) => x.method === 'mining.set_extranonce'));
      expect(c.extranonce1).toBe('a1b2c3');
      expect(c.extranonce2Size).toBe(6);
      const job = await c.waitForJob(n);
      expect(job.clean).toBe(true);
      const share = c.findShare(job);
      expect(share.extranonce2).toHaveLength(12);
      expect((await c.submit('carol.w', share)).result).toBe(true);
      // A share built with the old 4-byte extranonce2 no longer fits.
      const old = await c.submit('carol.w', { ...share, extranonce2: '00000000' });
      expect(old.error?.[0]).toBe(StratumError.OTHER);
    } finally {
      await p.stop();
    }
  });

  it('resumes a session: subscribing with a known subscription id gives the same extranonce1', async () => {
    const a = track(await StratumTestClient.connect(pool.port));
    await a.subscribe();
    const { subscriptionId, extranonce1 } = a;
    a.close();
    const b = track(await StratumTestClient.connect(pool.port));
    await b.subscribe(subscriptionId);
    expect(b.extranonce1).toBe(extranonce1);
    const c = track(await StratumTestClient.connect(pool.port));
    await c.subscribe('unknown-session');
    expect(c.extranonce1).not.toBe(extranonce1);
    expect(pool.subscriptions.slice(-2)).toEqual([
      { userAgent: 'stratum-test-client/1', sessionId: subscriptionId, resumed: true, extranonce1 },
      { userAgent: 'stratum-test-client/1', sessionId: 'unknown-session', resumed: false, extranonce1: c.extranonce1 },
    ]);
  });

  it('sends client.reconnect, client.show_message and raw lines to every client', async () => {
    const c1 = track(await readyClient(pool, 'dave.1'));
    const c2 = track(await readyClient(pool, 'dave.2'));
    pool.sendReconnect({ port: 4444, waitSeconds: 3 });
    pool.showMessage('maintenance at noon');
    pool.sendRaw('{"id":null,"method":"x.custom","params":[1]}');
    for (const c of [c1, c2]) {
      const re = await c.waitFor('reconnect', () => c.notifications.find((x) => x.method === 'client.reconnect'));
      expect(re.params).toEqual(['127.0.0.1', 4444, 3]);
      const msg = await c.waitFor('show_message', () => c.notifications.find((x) => x.method === 'client.show_message'));
      expect(msg.params).toEqual(['maintenance at noon']);
      await c.waitFor('raw line', () => c.notifications.find((x) => x.method === 'x.custom'));
    }
    pool.disconnectAll();
    await until('clients closed', () => c1.closed && c2.closed);
  });

  it('survives a flood of garbage lines and keeps serving', async () => {
    const noisy = track(await StratumTestClient.connect(pool.port));
    const garbage: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 10;
      if (kind === 0)
        garbage.push(
          Buffer.from(Array.from({ length: 40 }, () => Math.floor(Math.random() * 256)))
            .toString('latin1')
            .replace(/\n/g, ''),
        );
      else if (kind === 1) garbage.push('{"id":1,"method":');
      else if (kind === 2) garbage.push('[1,2,3]');
      else if (kind === 3) garbage.push('{"id":2,"method":42,"params":[]}');
      else if (kind === 4) garbage.push('{"id":3,"method":"mining.submit","params":"nope"}');
      else if (kind === 5) garbage.push(`{"id":4,"method":"mining.submit","params":[null,{},[],1e308,"zz"]}`);
      else if (kind === 6) garbage.push('{"id":5,"method":"mining.subscribe","params":[{"a":1},123,null]}');
      else if (kind === 7) garbage.push('{"id":6,"method":"mining.authorize","params":[["x"],null]}');
      else if (kind === 8) garbage.push('null');
      else garbage.push(`{"id":7,"method":"${'m'.repeat(500)}","params":[]}`);
    }
    noisy.writeRaw(garbage.join('\n') + '\n');
    const ok = await noisy.request('mining.extranonce.subscribe', []);
    expect(ok.result).toBe(true);
    const errorsSeen = noisy.lines.filter((l) => l.includes('"error":[20')).length;
    expect(errorsSeen).toBeGreaterThan(1000);

    // A line that never ends gets its sender cut off; everyone else carries on.
    const huge = track(await StratumTestClient.connect(pool.port));
    huge.writeRaw('x'.repeat(200 * 1024));
    await huge.waitFor('oversized client closed', () => huge.closed, 20_000);

    const fresh = track(await readyClient(pool, 'erin.after-flood'));
    expect((await fresh.submit('erin.after-flood', fresh.findShare(fresh.latestJob()!))).result).toBe(true);
    expect(pool.errors).toEqual([]);
  });
});

describe('stratum test pool: behaviours', () => {
  it('closeAfterAuthorize answers authorize and then closes the connection', async () => {
    const pool = await startStratumPool({ behavior: { closeAfterAuthorize: true } });
    try {
      const c = track(await StratumTestClient.connect(pool.port));
      await c.subscribe();
      expect((await c.authorize('f.w')).result).toBe(true);
      await c.waitFor('close', () => c.closed);
      expect(c.jobs()).toEqual([]);
    } finally {
      await pool.stop();
    }
  });

  it('neverSendJob subscribes and authorizes but sends no difficulty and no job', async () => {
    const pool = await startStratumPool({ behavior: { neverSendJob: true } });
    try {
      const c = track(await StratumTestClient.connect(pool.port));
      await c.subscribe();
      expect((await c.authorize('g.w')).result).toBe(true);
      await pool.sendNewJob({ clean: true });
      // Work would have been written before the answer to this later request.
      expect((await c.request('mining.extranonce.subscribe', [])).result).toBe(true);
      expect(c.notifications).toEqual([]);
    } finally {
      await pool.stop();
    }
  });

  it('rejectAll rejects every share with the configured code and message', async () => {
    const pool = await startStratumPool({ behavior: { rejectAll: { code: 23, message: 'go away' } } });
    try {
      const c = track(await readyClient(pool, 'h.w'));
      const answer = await c.submit('h.w', c.findShare(c.latestJob()!));
      expect(answer.error).toEqual([23, 'go away', null]);
      expect(pool.shares).toMatchObject([{ worker: 'h.w', result: 'rejected', reason: 'go away' }]);
    } finally {
      await pool.stop();
    }
  });

  it('rejectAuthorize answers authorize with error 24', async () => {
    const pool = await startStratumPool({ behavior: { rejectAuthorize: true } });
    try {
      const c = track(await StratumTestClient.connect(pool.port));
      await c.subscribe();
      expect((await c.authorize('i.w', 'wrong')).error?.[0]).toBe(StratumError.UNAUTHORIZED);
      expect(pool.authorizedWorkers()).toEqual([]);
    } finally {
      await pool.stop();
    }
  });
});

describe('stratum test pool: TLS', () => {
  let pool: StratumPool;
  beforeAll(async () => {
    pool = await startStratumPool({ tls: true });
  });
  afterAll(async () => {
    await pool?.stop();
  });

  it('serves stratum+ssl with a certificate that verifies against caFile and serverName', async () => {
    expect(pool.url).toBe(`stratum+ssl://127.0.0.1:${pool.port}`);
    expect(pool.caFile).toBeTruthy();
    expect(pool.serverName).toBe('stratum.minefleet.test');
    const c = track(await readyClient(pool, 'tls.w'));
    expect((c.socket as import('node:tls').TLSSocket).authorized).toBe(true);
    expect((await c.submit('tls.w', c.findShare(c.latestJob()!))).result).toBe(true);
  });

  it('refuses clients that do not trust its CA or ask for another name', async () => {
    await expect(StratumTestClient.connect(pool.port, { tls: { ca: '', servername: 'stratum.minefleet.test' } })).rejects.toThrow();
    const ca = await readFile(pool.caFile!);
    await expect(StratumTestClient.connect(pool.port, { tls: { ca, servername: 'other.example' } })).rejects.toThrow(/other\.example|altname|Hostname/i);
  });
});
