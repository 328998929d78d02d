/**
 * TLS by policy against real TLS test pools (certificates from a private CA made with openssl):
 * an expired certificate, a certificate for another host name, the private CA without its CA
 * bundle and a TLS 1.1-only pool are each refused by the probe (TLSFailed, the cause named) and by
 * the miner's own Stratum client (same cause in its log); insecureSkipVerify lets both connect.
 * The pure policy (tlsPolicyViolation / tlsCondition) is checked on its own.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { StratumClient, type SessionFailure } from '../../miner/src/stratum/client.js';
import { probePool, type ProbeTarget } from '../../operator/src/controllers/miningpool/probe.js';
import { tlsCondition, tlsPolicyViolation } from '../../operator/src/controllers/miningpool/tls-policy.js';
import { captureLogger } from '../support/index.js';
import { startStratumPool, TEST_POOL_SERVER_NAME, type StratumPool, type StratumPoolOptions } from '../support/stratum/index.js';

const silent = pino({ level: 'silent' });
const PASSWORD = 'tls-secret-pw-987';

/** One session of the miner's client: its first failure, or 'job' when it got work. */
function minerSession(
  p: StratumPool,
  tls: { ca?: string; serverName?: string; insecureSkipVerify?: boolean },
  log: pino.Logger,
): Promise<SessionFailure | 'job'> {
  const c = new StratumClient({
    poolName: 'tls',
    url: p.url,
    login: 'wallet.miner',
    password: PASSWORD,
    tls,
    idleTimeoutMs: 10_000,
    backoff: { initialMs: 1000, maxMs: 1000 },
    reconnect: false,
    log,
  });
  return new Promise((resolve) => {
    c.once('failure', (f) => void c.stop(0).then(() => resolve(f)));
    c.once('job', () => void c.stop(0).then(() => resolve('job')));
    c.start();
  });
}

describe('TLS policy against real TLS pools', () => {
  const pools: StratumPool[] = [];
  afterAll(async () => {
    for (const p of pools) await p.stop();
  });
  const pool = async (tls: StratumPoolOptions['tls']) => {
    const p = await startStratumPool({ tls });
    pools.push(p);
    return p;
  };
  const target = (p: StratumPool, tls: ProbeTarget['tls']): ProbeTarget => ({ poolName: 'p', url: p.url, login: 'wallet.probe', password: PASSWORD, tls });

  const cases: Array<{ name: string; tls: StratumPoolOptions['tls']; withCa: boolean; cause: string; code: string }> = [
    { name: 'expired certificate', tls: { certificate: 'expired' }, withCa: true, cause: 'certificate expired', code: 'CERT_HAS_EXPIRED' },
    {
      name: 'certificate for another host name',
      tls: { certificate: 'wrong-host' },
      withCa: true,
      cause: 'hostname mismatch',
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    },
    { name: 'private CA without the CA bundle', tls: { certificate: 'valid' }, withCa: false, cause: 'unknown CA', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    {
      name: 'TLS 1.1-only pool',
      tls: { certificate: 'valid', legacyVersion: 'TLSv1.1' },
      withCa: true,
      cause: 'protocol version below TLS 1.2',
      code: 'ALERT_PROTOCOL_VERSION',
    },
  ];

  for (const c of cases) {
    it(`${c.name}: probe and miner refuse it naming the cause; insecureSkipVerify connects (except below TLS 1.2)`, async () => {
      const p = await pool(c.tls);
      const ca = c.withCa ? readFileSync(p.caFile!, 'utf8') : undefined;
      const tls = { ...(ca ? { ca } : {}), serverName: TEST_POOL_SERVER_NAME };
      const probe = await probePool(target(p, tls), 5000, silent);
      expect(probe).toMatchObject({ ok: false, reason: 'TLSFailed' });
      if (!probe.ok) {
        expect(probe.message).toContain(c.cause);
        expect(probe.message).toContain(c.code);
        expect(probe.message).not.toContain(PASSWORD);
      }
      const m = captureLogger();
      const f = await minerSession(p, tls, m.log);
      expect(f).toMatchObject({ kind: 'tls' });
      expect((f as SessionFailure).message).toContain(c.cause);
      const refusal = m.lines.map((l) => JSON.parse(l) as { msg: string; cause?: string }).find((l) => l.msg.startsWith('TLS handshake refused'));
      expect(refusal?.cause).toContain(c.cause);
      expect(m.lines.join('\n')).not.toContain(PASSWORD);
      expect(p.logins).toEqual([]); // nothing, the login included, was sent over the refused connection

      const insecure = { serverName: TEST_POOL_SERVER_NAME, insecureSkipVerify: true };
      if (c.tls && typeof c.tls === 'object' && c.tls.legacyVersion) {
        // Skipping verification never lowers the protocol floor.
        expect(await probePool(target(p, insecure), 5000, silent)).toMatchObject({ ok: false, reason: 'TLSFailed' });
        return;
      }
      expect(await probePool(target(p, insecure), 5000, silent)).toMatchObject({ ok: true });
      const mi = captureLogger();
      expect(await minerSession(p, insecure, mi.log)).toBe('job');
      const warn = mi.lines.map((l) => JSON.parse(l) as { msg: string; level: number; cause?: string }).find((l) => l.msg.includes('NOT verified'));
      // The verification error is logged, not enforced (without a CA bundle OpenSSL names the first problem it meets).
      expect(warn).toMatchObject({ level: 40, insecureSkipVerify: true });
      expect(['unknown CA', 'certificate expired']).toContain((warn as { cause?: string }).cause);
    });
  }

  it('a valid certificate with the CA bundle is verified by both', async () => {
    const p = await pool({ certificate: 'valid' });
    const tls = { ca: readFileSync(p.caFile!, 'utf8'), serverName: TEST_POOL_SERVER_NAME };
    expect(await probePool(target(p, tls), 5000, silent)).toMatchObject({ ok: true });
    expect(await minerSession(p, tls, silent)).toBe('job');
  });
});

describe('tlsPolicyViolation / tlsCondition (pure)', () => {
  const plain = { url: 'stratum+tcp://p.example:3333' };
  const ssl = { url: 'stratum+ssl://p.example:3443' };
  const skip = { url: 'stratum+ssl://p.example:3443', tls: { insecureSkipVerify: true } };
  it('requireTls refuses plain and unverified pools, naming the field; without it all are allowed', () => {
    expect(tlsPolicyViolation(plain, { requireTls: true })).toMatch(/spec\.url uses stratum\+tcp/);
    expect(tlsPolicyViolation(skip, { requireTls: true })).toMatch(/spec\.tls\.insecureSkipVerify/);
    expect(tlsPolicyViolation(ssl, { requireTls: true })).toBeUndefined();
    for (const s of [plain, ssl, skip]) expect(tlsPolicyViolation(s, { requireTls: false })).toBeUndefined();
  });
  it('TLSVerified follows the spec and the last handshake', () => {
    const off = { requireTls: false };
    expect(tlsCondition(skip, off, { ok: true }, undefined)).toMatchObject({ status: 'False', reason: 'InsecureSkipVerify' });
    expect(tlsCondition(plain, off, { ok: true }, undefined)).toMatchObject({ status: 'False', reason: 'PlainText' });
    expect(tlsCondition(plain, { requireTls: true }, undefined, undefined)).toMatchObject({ status: 'False', reason: 'TLSRequired' });
    expect(tlsCondition(ssl, off, { ok: true }, undefined)).toMatchObject({ status: 'True', reason: 'Verified' });
    expect(tlsCondition(ssl, off, { ok: false, reason: 'AuthorizeRejected' }, undefined)).toMatchObject({ status: 'True', reason: 'Verified' });
    expect(tlsCondition(ssl, off, { ok: false, reason: 'TLSFailed', message: 'TLS certificate expired: x' }, undefined)).toMatchObject({
      status: 'False',
      reason: 'TLSFailed',
      message: 'TLS certificate expired: x',
    });
    const prev = { type: 'TLSVerified', status: 'True' as const, reason: 'Verified', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' };
    expect(tlsCondition(ssl, off, { ok: false, reason: 'ConnectFailed' }, prev)).toMatchObject({ status: 'True', reason: 'Verified' });
    expect(tlsCondition(ssl, off, { ok: false, reason: 'ConnectFailed' }, undefined)).toMatchObject({ status: 'Unknown', reason: 'NotYetVerified' });
  });
});
