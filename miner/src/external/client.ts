/**
 * cgminer RPC API client: one request per TCP connection (the device closes after replying),
 * every reply's STATUS block checked. Each request is bounded in time (connect + reply) and in
 * size, so a device that sends garbage, floods or never answers costs one failed request and
 * never blocks or crashes the supervisor.
 */
import net from 'node:net';
import { checkStatus, parseReply, ReplyError, type CgReply } from './reply.js';

export interface CgminerClientOptions {
  host: string;
  port: number;
  /** Whole request budget: connect, send, reply. */
  timeoutMs?: number;
  /** Replies larger than this are cut off and fail (real STATS replies are tens of KiB). */
  maxReplyBytes?: number;
}

export const READ_COMMANDS = ['summary', 'pools', 'devs', 'stats', 'config', 'version'] as const;
export const PRIVILEGED_COMMANDS = [
  'addpool',
  'switchpool',
  'enablepool',
  'disablepool',
  'removepool',
  'poolpriority',
  'ascenable',
  'ascdisable',
  'pgaenable',
  'pgadisable',
  'gpuenable',
  'gpudisable',
  'restart',
  'save',
] as const;
export type CgCommand = (typeof READ_COMMANDS)[number] | (typeof PRIVILEGED_COMMANDS)[number];

/** Commas and backslashes in addpool fields are escaped the way cgminer's API expects. */
export function escapeParam(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

export class CgminerClient {
  readonly host: string;
  readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxReplyBytes: number;

  constructor(opts: CgminerClientOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxReplyBytes = opts.maxReplyBytes ?? 1024 * 1024;
  }

  /** Raw text of one reply. */
  rawRequest(command: string, parameter?: string): Promise<string> {
    const body = JSON.stringify(parameter === undefined ? { command } : { command, parameter });
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const sock = net.connect({ host: this.host, port: this.port });
      const finish = (err: Error | null, text?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(text!);
      };
      const timer = setTimeout(
        () =>
          finish(
            new ReplyError(`${command}: no complete reply from ${this.host}:${this.port} within ${this.timeoutMs} ms (${size} bytes received)`, 'timeout'),
          ),
        this.timeoutMs,
      );
      sock.on('connect', () => sock.end(body));
      sock.on('data', (c: Buffer) => {
        size += c.length;
        if (size > this.maxReplyBytes) {
          finish(new ReplyError(`${command}: reply from ${this.host}:${this.port} exceeds ${this.maxReplyBytes} bytes; dropped`, 'too_large'));
          return;
        }
        chunks.push(c);
      });
      sock.on('error', (e) => finish(new ReplyError(`${command}: ${this.host}:${this.port}: ${e.message}`, 'connect')));
      sock.on('close', () => finish(null, Buffer.concat(chunks).toString('utf8')));
    });
  }

  /** Parsed, STATUS-checked reply. */
  async request(command: CgCommand, parameter?: string): Promise<CgReply> {
    const text = await this.rawRequest(command, parameter);
    const reply = parseReply(text, command);
    checkStatus(reply, command);
    return reply;
  }

  summary(): Promise<CgReply> {
    return this.request('summary');
  }
  pools(): Promise<CgReply> {
    return this.request('pools');
  }
  devs(): Promise<CgReply> {
    return this.request('devs');
  }
  stats(): Promise<CgReply> {
    return this.request('stats');
  }
  config(): Promise<CgReply> {
    return this.request('config');
  }
  version(): Promise<CgReply> {
    return this.request('version');
  }

  /** addpool: the password travels only in this request; callers must never log the parameter. */
  addPool(url: string, user: string, password: string): Promise<CgReply> {
    return this.request('addpool', [url, user, password].map(escapeParam).join(','));
  }
  switchPool(id: number): Promise<CgReply> {
    return this.request('switchpool', String(id));
  }
  enablePool(id: number): Promise<CgReply> {
    return this.request('enablepool', String(id));
  }
  disablePool(id: number): Promise<CgReply> {
    return this.request('disablepool', String(id));
  }
  removePool(id: number): Promise<CgReply> {
    return this.request('removepool', String(id));
  }
  /** Pool ids in the wanted priority order (first = highest). */
  poolPriority(ids: number[]): Promise<CgReply> {
    return this.request('poolpriority', ids.join(','));
  }
  ascEnable(id: number): Promise<CgReply> {
    return this.request('ascenable', String(id));
  }
  ascDisable(id: number): Promise<CgReply> {
    return this.request('ascdisable', String(id));
  }
  pgaEnable(id: number): Promise<CgReply> {
    return this.request('pgaenable', String(id));
  }
  pgaDisable(id: number): Promise<CgReply> {
    return this.request('pgadisable', String(id));
  }
  /** cgminer/sgminer GPU units: the GPU stops (or resumes) hashing, the miner stays up. */
  gpuEnable(id: number): Promise<CgReply> {
    return this.request('gpuenable', String(id));
  }
  gpuDisable(id: number): Promise<CgReply> {
    return this.request('gpudisable', String(id));
  }
  restart(): Promise<CgReply> {
    return this.request('restart');
  }
  save(path?: string): Promise<CgReply> {
    return this.request('save', path);
  }
}
