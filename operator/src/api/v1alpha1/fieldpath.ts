/**
 * The field path syntax of an HTTP JSON feed (`spec.economics.feeds.<coin>.<feed>.http.fieldPath`):
 * dot-separated keys with optional array indices, e.g. `litecoin.usd`, `data[0].price`,
 * `result.difficulty`.
 */
export const JSON_FIELD_PATH_PATTERN = '^[A-Za-z0-9_$-]+(\\[[0-9]+\\])*(\\.[A-Za-z0-9_$-]+(\\[[0-9]+\\])*)*$';

/** Split a feed field path into keys and indices. Throws on a malformed path. */
export function parseJsonFieldPath(path: string): Array<string | number> {
  if (!new RegExp(JSON_FIELD_PATH_PATTERN).test(path)) {
    throw new Error(`fieldPath ${JSON.stringify(path)} is not a dot path like "data[0].price"`);
  }
  const out: Array<string | number> = [];
  for (const part of path.split('.')) {
    const m = /^([^[]+)((\[[0-9]+\])*)$/.exec(part);
    if (!m || m[1] === undefined) throw new Error(`fieldPath ${JSON.stringify(path)}: bad segment ${JSON.stringify(part)}`);
    out.push(m[1]);
    for (const idx of (m[2] ?? '').matchAll(/\[([0-9]+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/**
 * Read `path` from a parsed JSON document. Returns the value, or throws an error that says which
 * segment was missing (feeds turn that into a "malformed feed" decision).
 */
export function resolveJsonFieldPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  const walked: string[] = [];
  for (const seg of parseJsonFieldPath(path)) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) {
        throw new Error(`fieldPath ${JSON.stringify(path)}: no index [${seg}] at ${walked.join('') || '(root)'}`);
      }
      cur = cur[seg];
      walked.push(`[${seg}]`);
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) {
        throw new Error(`fieldPath ${JSON.stringify(path)}: no key ${JSON.stringify(seg)} at ${walked.join('') || '(root)'}`);
      }
      cur = (cur as Record<string, unknown>)[seg];
      walked.push(walked.length ? `.${seg}` : seg);
    }
  }
  return cur;
}
