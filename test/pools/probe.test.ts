/** The probe (a real Stratum session on the miner's client) against real test pools, one per failure kind. */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { probePool, type ProbeTarget } from '../../operator/src/controllers/miningpool/probe.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';

const log = pino({ level: 'silent' });
const PASSWORD = 'probe-secret-pw-123';
const target = (p: { url: string }, extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
  poolName: 'p',
  url: p.url,
  login: 'wallet.probe',
  password: PASSWORD,
  ...extra,
});

describe('probePool', () => {
  const pools: StratumPool[] = [];
  const servers: net.Server[] = [];
  afterAll(async () => {
    for (const p of pools) await p.stop();
    for (const s of servers) await new Promise((r) => s.close(r));
  });
  const pool = async (...a: Parameters<typeof startStratumPool>) => {
    const p = await startStratumPool(...a);
    pools.push(p);
    return p;
  };

  it('succeeds on a healthy pool: subscribe, authorize with the credentials, first job; records latency', async () => {
    const p = await pool({});
    const r = await probePool(target(p), 5000, log);
    expect(r).toMatchObject({ ok: true });
    if (r.ok) expect(r.firstJobMs).toBeGreaterThanOrEqual(r.connectMs);
    expect(p.logins).toEqual([{ worker: 'wallet.probe', password: PASSWORD }]);
  });

  it('TLS with the CA from a Secret (PEM text) succeeds; a wrong serverName or no CA is TLSFailed', async () => {
    const p = await pool({ tls: true });
    const ca = readFileSync(p.caFile!, 'utf8');
    expect(await probePool(target(p, { tls: { ca, serverName: p.serverName! } }), 5000, log)).toMatchObject({ ok: true });
    const wrong = await probePool(target(p, { tls: { ca, serverName: 'wrong.minefleet.test' } }), 5000, log);
    expect(wrong).toMatchObject({ ok: false, reason: 'TLSFailed' });
    if (!wrong.ok) expect(wrong.message).toMatch(/ALTNAME|altname|does not match|Hostname/i);
    expect(await probePool(target(p, { tls: { serverName: p.serverName! } }), 5000, log)).toMatchObject({ ok: false, reason: 'TLSFailed' });
    expect(p.logins).toHaveLength(1); // only the verified session saw the credentials
  });

  it('ConnectFailed when nothing listens', async () => {
    const p = await startStratumPool({});
    await p.stop();
    expect(await probePool(target(p), 5000, log)).toMatchObject({ ok: false, reason: 'ConnectFailed' });
  });

  it('AuthorizeRejected when the pool refuses the login', async () => {
    const p = await pool({ behavior: { rejectAuthorize: true } });
    const r = await probePool(target(p), 5000, log);
    expect(r).toMatchObject({ ok: false, reason: 'AuthorizeRejected' });
    if (!r.ok) expect(r.message).not.toContain(PASSWORD);
  });

  it('NoWork when authorized but no job arrives within timeoutSeconds', async () => {
    const p = await pool({ behavior: { neverSendJob: true } });
    expect(await probePool(target(p), 1500, log)).toMatchObject({ ok: false, reason: 'NoWork' });
  });

  it('ProtocolError on only invalid jobs, and on a non-Stratum server', async () => {
    const p = await pool({ behavior: { invalidJobs: true } });
    expect(await probePool(target(p), 1500, log)).toMatchObject({ ok: false, reason: 'ProtocolError' });
    const junk = net.createServer((s) => {
      s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
      s.on('error', () => undefined);
    });
    servers.push(junk);
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', () => r()));
    const url = `stratum+tcp://127.0.0.1:${(junk.address() as net.AddressInfo).port}`;
    expect(await probePool(target({ url }), 3000, log)).toMatchObject({ ok: false, reason: 'ProtocolError' });
  });

  it('Timeout when the pool accepts the connection and then says nothing (stalled)', async () => {
    const p = await pool({});
    p.setBehavior({ stall: true });
    expect(await probePool(target(p), 1500, log)).toMatchObject({ ok: false, reason: 'Timeout' });
  });

  it('a cancelled reconcile cancels its probe: it rejects with the signal reason instead of reporting a pool failure', async () => {
    const p = await pool({});
    p.setBehavior({ stall: true });
    const ac = new AbortController();
    const probe = probePool(target(p), 60_000, log, ac.signal);
    ac.abort(new Error('leader lease lost'));
    await expect(probe).rejects.toThrow('leader lease lost');
    await expect(probePool(target(p), 60_000, log, ac.signal)).rejects.toThrow('leader lease lost');
  });
});
