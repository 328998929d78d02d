/**
 * The emulated device's cgminer RPC API on TCP: one request per connection (JSON
 * `{"command":..,"parameter":..}` or plain `command|parameter`), answered in the same format and
 * then closed. Replies carry the quirks of the emulated model (trailing NUL, `}{`, `,}`,
 * inf/nan, every Nth reply cut short), switchable per model or by flag, so the supervisor is
 * tested against what real firmware sends. Privileged commands can be refused, as with cgminer's
 * api-allow.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { PRIVILEGED_COMMANDS } from '../client.js';
import type { Quirk } from '../models.js';
import { CommandError, type EmulatedAsic } from './asic.js';

type Rec = Record<string, unknown>;
interface Reply {
  status: { STATUS: 'S' | 'I' | 'E'; Code: number; Msg: string };
  section?: string;
  /** Plain-format name of each record (e.g. POOL=0 is written by the record itself). */
  plainName?: string;
  records?: Rec[];
}

export interface ApiServerOptions {
  host: string;
  port: number;
  quirks: Quirk[];
  allowPrivileged: boolean;
  /** Where `save` writes the configuration (none: save fails with a clear message). */
  saveFile?: string;
  description?: string;
  /** With the `truncated` quirk: every Nth reply (counted over all connections) is cut short (default 5). */
  truncateEvery?: number;
}

export const DEFAULT_TRUNCATE_EVERY = 5;

/**
 * The `truncated` quirk: reply number `n` (1-based) is cut when n is a multiple of `every`, to
 * half its length (without the trailing NUL a complete reply would carry), the way a busy device
 * closes the connection mid-reply. Deterministic, so a test knows which replies are cut.
 */
export function truncateReply(text: string, n: number, every: number): string {
  if (every < 1 || n % every !== 0) return text;
  const whole = text.replace(/\0$/, '');
  return whole.slice(0, Math.floor(whole.length / 2));
}

// The client's privileged list, plus `quit`, which a device also refuses without privilege.
const PRIVILEGED = new Set<string>([...PRIVILEGED_COMMANDS, 'quit']);
const MAX_REQUEST_BYTES = 64 * 1024;

function ok(code: number, msg: string, section?: string, records?: Rec[], plainName?: string): Reply {
  return {
    status: { STATUS: 'S', Code: code, Msg: msg },
    ...(section ? { section } : {}),
    ...(records ? { records } : {}),
    ...(plainName ? { plainName } : {}),
  };
}
function fail(code: number, msg: string): Reply {
  return { status: { STATUS: 'E', Code: code, Msg: msg } };
}

/** Split cgminer's comma-separated parameter, honouring `\,` and `\\` escapes. */
export function splitParam(p: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\' && i + 1 < p.length) cur += p[++i];
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function intParam(p: string | undefined, what: string): number {
  if (p === undefined || !/^\d+$/.test(p.trim())) throw new CommandError(`Missing or invalid ${what} id`, 25);
  return Number(p.trim());
}

export class AsicApiServer {
  private server: net.Server;
  port = 0;
  /** Replies sent so far (the `truncated` quirk counts them). */
  replies = 0;

  constructor(
    private readonly asic: EmulatedAsic,
    private readonly opts: ApiServerOptions,
  ) {
    this.server = net.createServer((sock) => this.serve(sock));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    let done = false;
    sock.setEncoding('utf8');
    sock.setTimeout(5000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    const answer = () => {
      if (done) return;
      done = true;
      const text = buf.replace(/\0/g, '').trim();
      let command: string;
      let parameter: string | undefined;
      let json = true;
      if (text.startsWith('{')) {
        try {
          const req = JSON.parse(text) as { command?: unknown; parameter?: unknown };
          command = typeof req.command === 'string' ? req.command : '';
          // cgminer clients send numbers too ("parameter": 0); JSON text keeps an object readable in the error it causes
          if (req.parameter !== undefined) parameter = typeof req.parameter === 'string' ? req.parameter : JSON.stringify(req.parameter);
        } catch {
          sock.end(this.quirkyEnd(this.render(fail(23, 'Invalid JSON'), true, '')));
          return;
        }
      } else {
        json = false;
        const bar = text.indexOf('|');
        command = bar < 0 ? text : text.slice(0, bar);
        if (bar >= 0) parameter = text.slice(bar + 1);
      }
      let reply: Reply;
      try {
        reply = this.dispatch(command.trim().toLowerCase(), parameter);
      } catch (e) {
        reply = e instanceof CommandError ? fail(e.code, e.message) : fail(99, `internal error: ${(e as Error).message}`);
      }
      sock.end(this.quirkyEnd(this.render(reply, json, command)));
    };
    sock.on('data', (c: string) => {
      buf += c;
      if (buf.length > MAX_REQUEST_BYTES) {
        sock.destroy();
        return;
      }
      const t = buf.trim();
      // A JSON request is complete when it parses; a plain one at the half-close.
      if (t.startsWith('{')) {
        try {
          JSON.parse(t);
          answer();
        } catch {
          /* wait for more */
        }
      }
    });
    sock.on('end', () => answer());
  }

  /** The reply as sent: cut short when the `truncated` quirk's turn comes. */
  private quirkyEnd(text: string): string {
    this.replies++;
    if (!this.opts.quirks.includes('truncated')) return text;
    return truncateReply(text, this.replies, this.opts.truncateEvery ?? DEFAULT_TRUNCATE_EVERY);
  }

  private dispatch(cmd: string, param: string | undefined): Reply {
    const a = this.asic;
    if (PRIVILEGED.has(cmd) && !this.opts.allowPrivileged) return fail(45, `Access denied to '${cmd}' command`);
    const m = a.opts.model;
    const rate = (secs: number) => a.rate(secs) / m.rateFactor[m.reportsAs];
    const unitKind = m.kind;
    switch (cmd) {
      case 'version':
        return ok(22, 'CGMiner versions', 'VERSION', [{ CGMiner: '4.11.1', API: '3.7', Miner: m.names[0], Type: m.names[0] }]);
      case 'config':
        return ok(33, 'CGMiner config', 'CONFIG', [
          {
            'ASC Count': unitKind === 'ASC' ? a.units.length : 0,
            'PGA Count': unitKind === 'PGA' ? a.units.length : 0,
            'GPU Count': unitKind === 'GPU' ? a.units.length : 0,
            'Pool Count': a.pools.length,
            Strategy: 'Failover',
            'Log Interval': 5,
            'Device Code': m.kind,
            OS: 'Linux',
          },
        ]);
      case 'summary': {
        const elapsed = a.elapsedSeconds;
        return ok(11, 'Summary', 'SUMMARY', [
          {
            Elapsed: elapsed,
            [`${m.reportsAs} av`]: a.totalHashes / elapsed / m.rateFactor[m.reportsAs],
            [`${m.reportsAs} 5s`]: rate(5),
            [`${m.reportsAs} 1m`]: rate(60),
            'Found Blocks': a.foundBlocks,
            Getworks: a.pools.reduce((s, p) => s + p.getworks, 0),
            Accepted: a.accepted,
            Rejected: a.rejected,
            'Hardware Errors': a.hardwareErrors,
            Stale: a.stale,
            // In the firmware's units like every rate key: shifted firmware's "MH" are kH.
            'Total MH': a.totalHashes / m.rateFactor.MHS,
            'Difficulty Accepted': a.pools.reduce((s, p) => s + p.difficultyAccepted, 0),
            'Difficulty Rejected': a.pools.reduce((s, p) => s + p.difficultyRejected, 0),
            'Difficulty Stale': a.pools.reduce((s, p) => s + p.difficultyStale, 0),
            'Work Utility': a.accepted === 0 ? Number.NaN : (a.accepted * 60) / elapsed,
            'Device Rejected%': a.accepted + a.rejected === 0 ? Number.POSITIVE_INFINITY : (100 * a.rejected) / (a.accepted + a.rejected),
          },
        ]);
      }
      case 'pools': {
        const act = a.activePool();
        return ok(
          7,
          `${a.pools.length} Pool(s)`,
          'POOLS',
          a.pools.map((p) => ({
            POOL: p.id,
            URL: p.url,
            Status: !p.enabled ? 'Disabled' : p.dead ? 'Dead' : 'Alive',
            Priority: p.priority,
            Quota: 1,
            'Long Poll': 'N',
            Getworks: p.getworks,
            Accepted: p.accepted,
            Rejected: p.rejected,
            Stale: p.stale,
            'Get Failures': p.getFailures,
            User: p.user, // cgminer never echoes the password either
            'Last Share Time': p.lastShareTime,
            'Difficulty Accepted': p.difficultyAccepted,
            'Difficulty Rejected': p.difficultyRejected,
            'Difficulty Stale': p.difficultyStale,
            'Last Share Difficulty': p.lastShareDifficulty,
            'Work Difficulty': act?.id === p.id ? p.difficulty : 0,
            'Has Stratum': true,
            'Stratum Active': act?.id === p.id,
            'Stratum URL': act?.id === p.id ? p.url.replace(/^stratum\+tcp:\/\//, '') : '',
            // cgminer keeps the last difficulty the pool set, also after the connection is gone.
            'Stratum Difficulty': p.difficulty,
          })),
          'POOL',
        );
      }
      case 'devs':
        return ok(
          9,
          `${a.units.length} ${unitKind}(s)`,
          'DEVS',
          a.units.map((u) => ({
            [unitKind]: u.id,
            Name: m.id.toUpperCase().slice(0, 3),
            ID: u.id,
            Enabled: u.enabled ? 'Y' : 'N',
            Status: 'Alive',
            Temperature: Math.round(a.thermal.celsius * 10) / 10,
            [`${m.reportsAs} 5s`]: u.enabled ? rate(5) / a.units.filter((x) => x.enabled).length : 0,
            'Hardware Errors': u.hardwareErrors,
          })),
          unitKind,
        );
      case 'stats': {
        const dev: Rec = {
          STATS: 1,
          ID: `${m.kind}0`,
          Elapsed: a.elapsedSeconds,
          [`${m.reportsAs} 5s`]: rate(5),
          [`${m.reportsAs} av`]: a.totalHashes / a.elapsedSeconds / m.rateFactor[m.reportsAs],
          miner_count: a.units.length,
        };
        const fans = m.chains > 1 ? 2 : 1;
        for (let f = 1; f <= fans; f++) dev[`fan${f}`] = a.fanRpm();
        const enabledCount = a.units.filter((u) => u.enabled).length;
        a.units.forEach((u, i) => {
          dev[`temp${i + 1}`] = Math.round((a.thermal.celsius - (u.enabled ? 0 : 5)) * 10) / 10;
          dev[`chain_rate${i + 1}`] = u.enabled && enabledCount ? rate(5) / enabledCount : 0;
          dev[`chain_hw${i + 1}`] = u.hardwareErrors;
        });
        dev.temp_pcb = Math.round((a.thermal.celsius - 8) * 10) / 10;
        dev.Power = Math.round(a.thermal.watts);
        dev.throttle = Math.round(a.thermal.throttle * 100) / 100;
        return ok(70, 'CGMiner stats', 'STATS', [{ STATS: 0, ID: 'CGMINER0', CGMiner: '4.11.1', Miner: m.names[0], Type: m.names[0] }, dev]);
      }
      case 'addpool': {
        const parts = splitParam(param ?? '');
        if (parts.length !== 3 || !parts[0] || !parts[1]) throw new CommandError('Invalid addpool details, want URL,USR,PASS', 52);
        const p = a.addPool(parts[0], parts[1], parts[2]!);
        return ok(55, `Added pool ${p.id}: '${p.url}'`);
      }
      case 'switchpool': {
        const p = a.switchPool(intParam(param, 'pool'));
        return ok(27, `Switching to pool ${p.id}: '${p.url}'`);
      }
      case 'enablepool': {
        const p = a.enablePool(intParam(param, 'pool'));
        return ok(47, `Enabling pool ${p.id}: '${p.url}'`);
      }
      case 'disablepool': {
        const p = a.disablePool(intParam(param, 'pool'));
        return ok(48, `Disabling pool ${p.id}: '${p.url}'`);
      }
      case 'removepool': {
        const p = a.removePool(intParam(param, 'pool'));
        return ok(68, `Removed pool ${p.id}: '${p.url}'`);
      }
      case 'poolpriority': {
        const ids = (param ?? '').split(',').map((s) => intParam(s, 'pool'));
        a.poolPriority(ids);
        return ok(73, `Changed priorities`);
      }
      case 'ascenable':
      case 'ascdisable':
      case 'pgaenable':
      case 'pgadisable':
      case 'gpuenable':
      case 'gpudisable': {
        const kind = cmd.slice(0, 3).toUpperCase();
        if (kind !== m.kind) throw new CommandError(`No ${kind}s`, kind === 'ASC' ? 104 : kind === 'PGA' ? 77 : 6);
        const enable = cmd.endsWith('enable');
        const u = a.setUnit(intParam(param, kind), enable);
        // sgminer/cgminer's GPU replies: "GPU N sent enable message" (5), "GPU N set disable flag" (12).
        if (kind === 'GPU') return ok(enable ? 5 : 12, enable ? `GPU ${u.id} sent enable message` : `GPU ${u.id} set disable flag`);
        return ok(enable ? 110 : 111, `${kind} ${u.id} ${enable ? 'sent enable' : 'set disable'} message`);
      }
      case 'restart':
        setTimeout(() => a.restart(), 50).unref();
        return ok(83, 'Restart requested');
      case 'save': {
        const file = param || this.opts.saveFile;
        if (!file) throw new CommandError('No config file to save to (start with --save-file)', 44);
        writeFileSync(
          file,
          JSON.stringify({ pools: a.pools.map((p) => ({ url: p.url, user: p.user, pass: p.password, priority: p.priority, enabled: p.enabled })) }, null, 2),
          { mode: 0o600 },
        );
        return ok(44, `Configuration saved to file '${file}'`);
      }
      default:
        return fail(14, `Invalid command`);
    }
  }

  private render(reply: Reply, json: boolean, command: string): string {
    const q = new Set(this.opts.quirks);
    const when = Math.floor(Date.now() / 1000);
    const status = {
      STATUS: reply.status.STATUS,
      When: when,
      Code: reply.status.Code,
      Msg: reply.status.Msg,
      Description: this.opts.description ?? 'cgminer 4.11.1',
    };
    if (!json) {
      const fmt = (v: unknown) =>
        typeof v === 'number' && !Number.isFinite(v) ? (q.has('inf-nan') ? String(v).toLowerCase().replace('infinity', 'inf') : '0') : String(v);
      const rec = (name: string, r: Rec, skip: string) =>
        [
          name,
          ...Object.entries(r)
            .filter(([k]) => k !== skip)
            .map(([k, v]) => `${k}=${fmt(v)}`),
        ].join(',');
      let out = `${rec(`STATUS=${status.STATUS}`, status, 'STATUS')}|`;
      for (const r of reply.records ?? []) {
        const name = reply.plainName ? `${reply.plainName}=${String(r[reply.plainName])}` : reply.section!;
        out += `${rec(name, r, reply.plainName ?? '')}|`;
      }
      return q.has('trailing-nul') ? out + '\0' : out;
    }
    const ser = (v: unknown, joinObjects = false): string => {
      if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : q.has('inf-nan') ? (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : '0';
      if (Array.isArray(v)) return `[${v.map((x) => ser(x)).join(joinObjects ? '' : ',')}]`;
      if (v !== null && typeof v === 'object') {
        const body = Object.entries(v as Rec)
          .map(([k, x]) => `${JSON.stringify(k)}:${ser(x, k === 'STATS' && q.has('brace-join'))}`)
          .join(',');
        return `{${body}${q.has('trailing-comma') && body ? ',' : ''}}`;
      }
      return JSON.stringify(v);
    };
    const obj: Rec = { STATUS: [status] };
    if (reply.section) obj[reply.section] = reply.records ?? [];
    obj.id = 1;
    void command;
    const out = ser(obj);
    return q.has('trailing-nul') ? out + '\0' : out;
  }
}
