import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.js';

/**
 * The image installs production dependencies only (`npm ci --omit=dev` in the context that scripts/image.sh makes).
 * A compiled file that imports a devDependency (or an undeclared package) would start fine here
 * and crash in the pod, so every bare import in dist/ must be a declared runtime dependency.
 */
function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? jsFiles(p) : p.endsWith('.js') ? [p] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm;

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || specifier.startsWith('#')) return undefined;
  if (builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Dev-only imports that the built image never reaches, each with the file that may hold it.
 * The CPU backend boots its worker from TypeScript through tsx only when the compiled worker.js
 * is absent (benches run from sources); the test below checks that worker.js is built.
 */
const DEV_ONLY: Record<string, string> = { tsx: 'dist/miner/src/backends/cpu/backend.js' };

describe('image runtime dependencies', () => {
  it('every package dist/ imports is in dependencies, not devDependencies', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const runtime = new Set(Object.keys(pkg.dependencies));
    const files = ['operator/src', 'miner/src'].flatMap((d) => jsFiles(join(REPO_ROOT, 'dist', d)));
    expect(files.length).toBeGreaterThan(20);
    const used = new Map<string, string>();
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
        const name = packageOf(m[1] ?? m[2] ?? m[3]!);
        if (!name || used.has(name)) continue;
        if (DEV_ONLY[name] === relative(REPO_ROOT, f)) continue;
        used.set(name, relative(REPO_ROOT, f));
      }
    }
    // The operator and miner really do use the base libraries (the scan sees imports at all).
    expect([...used.keys()]).toEqual(expect.arrayContaining(['@kubernetes/client-node', 'zod', 'pino', 'prom-client', 'yaml', 'mongodb']));
    const missing = [...used].filter(([name]) => !runtime.has(name)).map(([name, file]) => `${name} (first imported by ${file})`);
    expect(missing, 'imported at run time but not a production dependency').toEqual([]);
  });
  it('every #subpath import in dist/ resolves through dist/package.json to a built file', () => {
    const distPkg = JSON.parse(readFileSync(join(REPO_ROOT, 'dist/package.json'), 'utf8')) as { type?: string; imports?: Record<string, string> };
    expect(distPkg.type).toBe('module');
    const files = ['operator/src', 'miner/src'].flatMap((d) => jsFiles(join(REPO_ROOT, 'dist', d)));
    const subpaths = new Set<string>();
    for (const f of files)
      for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) if ((m[1] ?? m[2] ?? m[3]!).startsWith('#')) subpaths.add(m[1] ?? m[2] ?? m[3]!);
    // The operator reaches the miner's contract only this way, so the scan must find some.
    expect([...subpaths]).toEqual(expect.arrayContaining(['#miner/config', '#miner/runtime']));
    const unresolved = [...subpaths].filter((s) => {
      const target = distPkg.imports?.[s];
      return !target || !existsSync(join(REPO_ROOT, 'dist', target));
    });
    expect(unresolved, 'imported by dist/ but not mapped to a built file').toEqual([]);
  });
  it('the CPU backend finds its compiled worker, so the dev-only tsx path is never taken', () => {
    expect(existsSync(join(REPO_ROOT, 'dist/miner/src/backends/cpu/worker.js'))).toBe(true);
  });
});
