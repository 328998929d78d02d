import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../miner/src/stratum/lines.js';
import { BadMessageError, NotifyParamsSchema, parseLine, sessionIdFromSubscriptions } from '../../miner/src/stratum/messages.js';

describe('stratum line parsing', () => {
  it('parses responses and notifications', () => {
    expect(parseLine('{"id":4,"result":true,"error":null}')).toEqual({ kind: 'response', id: 4, result: true, error: null });
    expect(parseLine('{"id":5,"result":null,"error":[23,"Low difficulty share",null]}')).toMatchObject({
      error: { code: 23, message: 'Low difficulty share' },
    });
    expect(parseLine('{"id":null,"method":"mining.set_difficulty","params":[0.5]}')).toEqual({
      kind: 'notification',
      id: null,
      method: 'mining.set_difficulty',
      params: [0.5],
    });
  });
  it.each([
    ['{not json', /not valid JSON/],
    ['[1,2]', /expected a JSON object, got array/],
    ['42', /expected a JSON object, got number/],
    ['{"method":"mining.notify","params":"x"}', /bad notification: params/],
    ['{"id":{},"result":1}', /bad response: id/],
  ])('rejects %s with a clear reason', (line, re) => {
    expect(() => parseLine(line)).toThrow(BadMessageError);
    expect(() => parseLine(line)).toThrow(re);
  });
  it('validates mining.notify fields including hex', () => {
    const good = ['j1', '00'.repeat(32), 'ab', 'cd', ['11'.repeat(32)], '20000000', '207fffff', '5f5e1000', true];
    expect(NotifyParamsSchema.safeParse(good).success).toBe(true);
    const bad = [...good];
    bad[1] = 'zz'.repeat(32);
    const r = NotifyParamsSchema.safeParse(bad);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/prevhash must be 32 bytes of hex/);
    const badBranch = [...good];
    badBranch[4] = ['123'];
    expect(NotifyParamsSchema.safeParse(badBranch).success).toBe(false);
  });
  it('finds the session id for resume', () => {
    expect(
      sessionIdFromSubscriptions([
        ['mining.set_difficulty', 'a1'],
        ['mining.notify', 'deadbeef'],
      ]),
    ).toBe('deadbeef');
    expect(sessionIdFromSubscriptions(['mining.notify', 'ab12'])).toBe('ab12');
    expect(sessionIdFromSubscriptions(null)).toBeUndefined();
  });
  it('splits lines, caps length, recovers after an over-long line', () => {
    const lines: string[] = [];
    const tooLong: number[] = [];
    const s = new LineSplitter(
      10,
      (l) => lines.push(l),
      (n) => tooLong.push(n),
    );
    s.push('abc\r\nde');
    s.push('f\n\n');
    s.push('x'.repeat(25));
    s.push('yyy\nok\n');
    s.push('0123456789AB\nfine\n');
    expect(lines).toEqual(['abc', 'def', 'ok', 'fine']);
    expect(tooLong.length).toBe(2);
  });
});
