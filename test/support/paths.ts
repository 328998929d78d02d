import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Binaries that `npm run provision` builds or unpacks into the cache. */
export type CachedBinary =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet' | 'kube-proxy' | 'kube-router' | 'ferretdb' | 'kubectl' | 'helm';

/** Repository root (this file lives in <repo>/test/support). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function cacheDir(): string {
  return process.env.MINEFLEET_CACHE ?? path.join(REPO_ROOT, '.cache');
}

/** Absolute path of a provisioned binary; throws a message that says how to get it when missing. */
export function binPath(name: CachedBinary): string {
  const file = path.join(cacheDir(), 'bin', name);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${name} not found (or not executable) at ${file}: run \`npm run provision\` first`);
  }
  return file;
}

/** Absolute path of a program expected on PATH (Debian packages: litecoind, prometheus, promtool). */
export function systemBinPath(name: 'litecoind' | 'litecoin-cli' | 'prometheus' | 'promtool' | 'openssl'): string {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(path.delimiter)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // try the next PATH entry
    }
  }
  throw new Error(`${name} not found on PATH: run \`npm run provision\` first (it installs it with apt-get)`);
}
