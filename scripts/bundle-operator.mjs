// Bundles the built operator (dist/operator/src/main.js) into one ESM file,
// dist/operator/minefleet-operator.mjs, which the image and the chart run.
// Why: @kubernetes/client-node's entry point imports every generated API class (config.js pulls in
// gen/index.js), ~31 MiB of heap that the operator never uses; tree-shaking leaves out what is not
// referenced, so the long-lived heap is ~25 MiB smaller and the chart's heap cap can be lower
// (bench/collector.bench.ts measures both side by side).
import { build } from 'esbuild';

const entry = new URL('../dist/operator/src/main.js', import.meta.url).pathname;
const outfile = new URL('../dist/operator/minefleet-operator.mjs', import.meta.url).pathname;

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native addons stay files next to the bundle's node_modules (none is used by the operator
  // today; the miner's kernel addon is loaded only by the miner).
  external: ['*.node'],
  // CommonJS dependencies (mongodb, pino, prom-client, ...) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __minefleetCreateRequire } from 'node:module'; const require = __minefleetCreateRequire(import.meta.url);" },
  // Whitespace and comments out, names kept (stack traces still say which function): V8 keeps
  // the whole source as one string for lazy compilation, and a single non-Latin-1 character in
  // a dependency's comment made that string two bytes per character (11 MiB for 5.6 MB).
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
console.log(`bundle-operator: ${outfile} (${(bytes / 1024 / 1024).toFixed(1)} MiB, ${Object.keys(result.metafile.inputs).length} modules)`);
