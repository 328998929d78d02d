// Self-signed certificate for the TLS test pool, made with the openssl CLI (no extra library).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
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

/**
 * The certificates a TLS policy test presents, all from one private CA:
 *  - valid: for TEST_POOL_SERVER_NAME (and localhost, 127.0.0.1), valid now;
 *  - expired: same names, validity 2020-01-01..2020-01-02 (openssl 3.0's x509 has no
 *    -not_before/-not_after, so it is issued with `openssl ca -startdate/-enddate`);
 *  - wrong-host: valid now, but only for WRONG_HOST_SERVER_NAME.
 * A client without caFile (system trust store) meets the private CA as an unknown CA.
 */
export type TestCertificateKind = 'valid' | 'expired' | 'wrong-host';
export const WRONG_HOST_SERVER_NAME = 'other-pool.minefleet.test';

export interface TestPki {
  /** PEM file of the private CA (what a MiningPool's CA Secret holds). */
  caFile: string;
  ca: Buffer;
  certs: Record<TestCertificateKind, TestCertificate>;
}

const CA_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_valid]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${TEST_POOL_SERVER_NAME},DNS:localhost,IP:127.0.0.1
[leaf_wrong_host]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${WRONG_HOST_SERVER_NAME}
`;

export async function makeTestPki(dir: string): Promise<TestPki> {
  const f = (name: string): string => join(dir, name);
  const openssl = async (args: string[]): Promise<void> => {
    try {
      await run('openssl', args, { cwd: dir, timeout: 30_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`openssl ${args[0]} failed making the test PKI: ${e.stderr || e.message}`);
    }
  };
  await writeFile(f('ca.cnf'), CA_CNF);
  await writeFile(f('index.txt'), '');
  await writeFile(f('serial'), '1000\n');
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    '-config',
    'ca.cnf',
    ...newKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=minefleet-test-pool-ca',
    '-extensions',
    'ca_ext',
  ]);
  const leaf = async (kind: TestCertificateKind, cn: string, ext: string, validity: string[]): Promise<TestCertificate> => {
    const base = `pool-${kind}`;
    await openssl(['req', '-new', '-config', 'ca.cnf', ...newKey, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`]);
    // openssl ca keeps a database: one signing at a time.
    await openssl([
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.crt',
      '-keyfile',
      'ca.key',
      '-in',
      `${base}.csr`,
      '-out',
      `${base}.crt`,
      '-extensions',
      ext,
      '-notext',
      ...validity,
    ]);
    return { certFile: f(`${base}.crt`), keyFile: f(`${base}.key`), cert: await readFile(f(`${base}.crt`)), key: await readFile(f(`${base}.key`)) };
  };
  const valid = await leaf('valid', TEST_POOL_SERVER_NAME, 'leaf_valid', ['-days', '2']);
  const expired = await leaf('expired', TEST_POOL_SERVER_NAME, 'leaf_valid', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  const wrongHost = await leaf('wrong-host', WRONG_HOST_SERVER_NAME, 'leaf_wrong_host', ['-days', '2']);
  return { caFile: f('ca.crt'), ca: await readFile(f('ca.crt')), certs: { valid, expired, 'wrong-host': wrongHost } };
}
