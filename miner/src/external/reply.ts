/**
 * Parsing what cgminer-API devices really send. Firmware in the field is sloppy: a trailing NUL
 * after the JSON, `}{` between the objects of a STATS array (bmminer), trailing commas (`,}`),
 * bare `inf`/`nan` numbers, and replies cut short when the device is busy. `repairJson` fixes
 * what is unambiguous outside string literals, so a quirk never makes a healthy device look
 * broken; a truncated reply still fails, with an error naming its size and where it broke.
 * The plain format (`STATUS=S,...|SUMMARY,...|`) is parsed into the same shape.
 */

export class ReplyError extends Error {
  constructor(
    message: string,
    readonly kind: 'malformed' | 'truncated' | 'status' | 'too_large' | 'timeout' | 'connect' | 'empty',
  ) {
    super(message);
  }
}

/** One reply as a map of section name (upper-case, e.g. STATUS, SUMMARY, POOLS) to its records. */
export type CgReply = Record<string, Array<Record<string, unknown>>>;

const BARE_NUMBERS = /^(-?inf(inity)?|nan)$/i;

/** Rewrite the quirks above into strict JSON; string literals are copied untouched. */
export function repairJson(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      // Copy a string literal verbatim (escapes included).
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '\0') {
      i++;
      continue;
    }
    if (c === '}' || c === ']') {
      out = out.replace(/,\s*$/, ''); // trailing comma before a closer
      out += c;
      i++;
      let j = i;
      while (j < n && /\s/.test(text[j]!)) j++;
      if (c === '}' && text[j] === '{') out += ','; // `}{` between reports
      continue;
    }
    if (/[A-Za-z-]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9.+-]/.test(text[j]!)) j++;
      const word = text.slice(i, j);
      out += BARE_NUMBERS.test(word) ? 'null' : word;
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function asReply(raw: unknown, what: string): CgReply {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ReplyError(`${what}: reply is not a JSON object`, 'malformed');
  const out: CgReply = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k.toUpperCase()] = v.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object' && !Array.isArray(r));
    else if (v !== null && typeof v === 'object') out[k.toUpperCase()] = [v as Record<string, unknown>];
  }
  return out;
}

function plainValue(v: string): unknown {
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) return Number(v);
  return v;
}

/**
 * The plain format: sections split by `|`, fields by `,`, `key=value`. A section whose first
 * field has no `=` is named by it (`SUMMARY`); `POOL=0` names a POOLS record.
 */
export function parsePlain(text: string): CgReply {
  const out: CgReply = {};
  for (const section of text.replace(/\0/g, '').split('|')) {
    if (!section.trim()) continue;
    const fields = section.split(',');
    const rec: Record<string, unknown> = {};
    let name = '';
    fields.forEach((f, idx) => {
      const eq = f.indexOf('=');
      if (eq < 0) {
        if (idx === 0) name = f.trim();
        return;
      }
      const k = f.slice(0, eq);
      if (idx === 0) name = k;
      rec[k] = plainValue(f.slice(eq + 1));
    });
    if (!name) continue;
    const key = name === 'STATUS' ? 'STATUS' : name === 'POOL' ? 'POOLS' : name === 'ASC' || name === 'PGA' || name === 'GPU' ? 'DEVS' : name;
    (out[key] ??= []).push(rec);
  }
  if (!out.STATUS) throw new ReplyError(`plain reply has no STATUS section (${text.length} bytes)`, 'malformed');
  return out;
}

/** Parse a whole reply (JSON or plain); throws ReplyError naming what is wrong. */
export function parseReply(text: string, what = 'reply'): CgReply {
  const trimmed = text.replace(/\0+$/g, '').trim();
  if (!trimmed) throw new ReplyError(`${what}: empty reply`, 'empty');
  if (!trimmed.startsWith('{')) {
    if (/^STATUS=/.test(trimmed)) return parsePlain(trimmed);
    throw new ReplyError(`${what}: neither JSON nor the plain format (starts with ${JSON.stringify(trimmed.slice(0, 16))}, ${text.length} bytes)`, 'malformed');
  }
  const repaired = repairJson(trimmed);
  let raw: unknown;
  try {
    raw = JSON.parse(repaired);
  } catch (e) {
    const depth = [...repaired].reduce((d, ch) => (ch === '{' || ch === '[' ? d + 1 : ch === '}' || ch === ']' ? d - 1 : d), 0);
    if (depth > 0) throw new ReplyError(`${what}: truncated reply (${text.length} bytes, ${depth} unclosed brackets)`, 'truncated');
    throw new ReplyError(`${what}: malformed JSON (${text.length} bytes): ${(e as Error).message}`, 'malformed');
  }
  return asReply(raw, what);
}

/** The first STATUS record; throws unless it says S (success) or I (info). */
export function checkStatus(reply: CgReply, command: string): Record<string, unknown> {
  const st = reply.STATUS?.[0];
  if (!st) throw new ReplyError(`${command}: reply has no STATUS block`, 'malformed');
  const code = scalarText(st.STATUS, '');
  if (code === 'S' || code === 'I') return st;
  const msg = typeof st.Msg === 'string' ? st.Msg : 'no message';
  throw new ReplyError(`${command}: device answered STATUS=${code || '?'} (code ${scalarText(st.Code, '?')}): ${msg}`, 'status');
}

/** A reply field as text: devices send codes as strings or numbers; anything else is shown as JSON, never as [object Object]. */
function scalarText(v: unknown, missing: string): string {
  if (v === undefined || v === null) return missing;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}
