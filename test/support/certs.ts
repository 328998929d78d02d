import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './process.js';
import { cacheDir, systemBinPath } from './paths.js';

const execFileAsync = promisify(execFile);

/** PEM files of a test PKI for one kube-apiserver (all EC P-256: generating them takes milliseconds). */
export interface ControlPlaneCerts {
  dir: string;
  caCert: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

// The first address of the harness's service CIDR (10.0.0.0/24) is the `kubernetes` Service.
const SERVING_SANS = [
  'IP:127.0.0.1',
  'IP:10.0.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
].join(',');

const OPENSSL_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[serving_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = ${SERVING_SANS}
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

let cached: Promise<ControlPlaneCerts> | undefined;

// Bump when the PKI layout or SANs change so that an old cached copy is not reused.
const PKI_VERSION = 'v1';

/**
 * The PKI is generated once and shared by every control plane: each control plane has its own
 * etcd, so sharing a CA and keys between them is harmless, and it saves the openssl runs (up to a
 * second on a loaded machine) in every test file. It is kept in the git-ignored cache
 * (`<cache>/test-pki-v1`); when that is not writable, each process makes its own in a temp dir.
 */
export function controlPlaneCerts(): Promise<ControlPlaneCerts> {
  cached ??= sharedOrFresh().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function sharedOrFresh(): Promise<ControlPlaneCerts> {
  const shared = path.join(cacheDir(), `test-pki-${PKI_VERSION}`);
  if (existsSync(path.join(shared, 'complete'))) return layout(shared);
  try {
    mkdirSync(cacheDir(), { recursive: true });
    const staging = mkdtempSync(path.join(cacheDir(), `.test-pki-${PKI_VERSION}-`));
    await generate(staging);
    writeFileSync(path.join(staging, 'complete'), '');
    try {
      renameSync(staging, shared); // atomic: concurrent processes never see half a PKI
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process won the race
    }
    if (existsSync(path.join(shared, 'complete'))) return layout(shared);
  } catch {
    // fall through to a private copy
  }
  const dir = makeTempDir('pki');
  await generate(dir);
  return layout(dir);
}

function layout(dir: string): ControlPlaneCerts {
  const f = (name: string): string => path.join(dir, name);
  return {
    dir,
    caCert: f('ca.crt'),
    apiserverCert: f('apiserver.crt'),
    apiserverKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  };
}

async function generate(dir: string): Promise<void> {
  const openssl = systemBinPath('openssl');
  const f = (name: string): string => path.join(dir, name);
  writeFileSync(f('openssl.cnf'), OPENSSL_CNF);
  const run = async (args: string[]): Promise<void> => {
    try {
      await execFileAsync(openssl, args, { cwd: dir });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${e.stderr ?? e.message}`);
    }
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const common = ['-config', f('openssl.cnf'), '-days', '3650'];
  await run(['req', '-x509', ...common, ...newKey, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=minefleet-test-ca', '-extensions', 'ca_ext']);
  const signed = ['-CA', f('ca.crt'), '-CAkey', f('ca.key')];
  await Promise.all([
    run([
      'req',
      '-x509',
      ...common,
      ...newKey,
      ...signed,
      '-keyout',
      f('apiserver.key'),
      '-out',
      f('apiserver.crt'),
      '-subj',
      '/CN=kube-apiserver',
      '-extensions',
      'serving_ext',
    ]),
    run([
      'req',
      '-x509',
      ...common,
      ...newKey,
      ...signed,
      '-keyout',
      f('admin.key'),
      '-out',
      f('admin.crt'),
      '-subj',
      '/O=system:masters/CN=minefleet-admin',
      '-extensions',
      'client_ext',
    ]),
    (async () => {
      await run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f('sa.key')]);
      await run(['pkey', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')]);
    })(),
  ]);
}

export function readPem(file: string): string {
  return readFileSync(file, 'utf8');
}
