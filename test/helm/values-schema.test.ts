import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ChartValuesSchema, renderValuesSchema } from '../../scripts/chart-values-schema.js';
import { binPath, REPO_ROOT, runTool } from '../support/index.js';

const CHART = path.join(REPO_ROOT, 'helm', 'minefleet');

describe('chart values.schema.json', () => {
  it('is generated from the zod schema (run npm run gen:crds when this fails)', () => {
    expect(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8')).toBe(renderValuesSchema());
  });

  it("the chart's own values.yaml satisfies the schema", () => {
    const values = parse(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as unknown;
    const result = ChartValuesSchema.safeParse(values);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it('helm refuses a mistyped value and names the field', async () => {
    for (const [set, field] of [
      ['replicaCount=two', '/replicaCount'],
      ['image.pullPolicy=Sometimes', '/image/pullPolicy'],
      ['metrics.port=70000', '/metrics/port'],
      ['logLevel=loud', '/logLevel'],
      ['maxOldSpaceMiB=-1', '/maxOldSpaceMiB'],
      ['maxSemiSpaceMiB=-1', '/maxSemiSpaceMiB'],
    ] as const) {
      const r = await runTool(binPath('helm'), ['template', 'x', CHART, '--set', set]);
      expect(r.code, set).not.toBe(0);
      expect(r.stderr, set).toContain(`at '${field}'`);
    }
    const good = await runTool(binPath('helm'), ['template', 'x', CHART, '--set', 'replicaCount=3', '--set', 'image.pullPolicy=Never']);
    expect(good.code, good.stderr).toBe(0);
  });
});
