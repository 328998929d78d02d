// Self-signed certificate for the TLS test pool, made with the openssl CLI (no extra library).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Name in the certificate that clients must verify against (SNI / servername). */
export const TEST_POOL_SERVER_NAME = 'stratum.minefleet.test';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export async function makeSelfSignedCert(dir: string): Promise<TestCertificate> {
  const certFile = join(dir, 'pool.crt');
  const keyFile = join(dir, 'pool.key');
  try {
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-nodes',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        `/CN=${TEST_POOL_SERVER_NAME}`,
        '-addext',
        `subjectAltName=DNS:${TEST_POOL_SERVER_NAME},DNS:localhost,IP:127.0.0.1`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
      ],
      { timeout: 30_000 },
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl could not make the test pool certificate: ${e.stderr || e.message}`);
  }
  return { certFile, keyFile, cert: await readFile(certFile), key: await readFile(keyFile) };
}
