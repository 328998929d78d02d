// Writes dist/package.json so the built tree resolves the same `#miner/*` imports as the sources.
// dist/ mirrors the source layout (rootDir "."), so the root package.json's `imports` targets are
// valid relative to dist/ too; Node takes `imports` and `type` from the nearest package.json.
import { readFileSync, writeFileSync } from 'node:fs';

const root = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const dist = { name: `${root.name}-dist`, private: true, type: root.type, imports: root.imports };
writeFileSync(new URL('../dist/package.json', import.meta.url), `${JSON.stringify(dist, null, 2)}\n`);
