import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { freePort, retryOnPortClash } from './ports.js';
import { systemBinPath } from './paths.js';
import { makeTempDir, removeTempDir, spawnProcess, type ManagedProcess } from './process.js';

export interface Litecoind {
  /** JSON-RPC endpoint of node 1 (the one with the wallet). */
  rpcUrl: string;
  rpcUser: string;
  rpcPassword: string;
  /** Node 1's RPC port (also served on `rpcHost` when that option is given). */
  rpcPort: number;
  /** P2P port of node 1 (127.0.0.1). */
  p2pPort: number;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** A fresh bech32 address from node 1's wallet. */
  newAddress(): Promise<string>;
  /** Mines `n` blocks to `address` (default: a new wallet address); returns their hashes. */
  mine(n: number, address?: string): Promise<string[]>;
  stop(): Promise<void>;
  pids(): number[];
  startupMs: number;
}

/** A JSON-RPC error answered by litecoind (`code` as in Litecoin Core, e.g. -8 invalid parameter). */
export class LitecoinRpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
  ) {
    super(`litecoind ${method}: ${message} (code ${code})`);
  }
}

const WALLET = 'minefleet';

/**
 * Two connected `litecoind -regtest` nodes. Litecoin Core 0.21 answers getblocktemplate only
 * while it has a peer ("Litecoin Core is not connected!"), so node 2 exists to be that peer.
 * Node 1 has a wallet; all helpers talk to node 1.
 */
export interface LitecoindOptions {
  /**
   * A second address for node 1's RPC (the real node's bridge address, so that pods reach it),
   * with the clients allowed there (e.g. the pod CIDR). 127.0.0.1 is always served.
   */
  rpcHost?: { address: string; allowIp: string };
}

export function startLitecoind(opts: LitecoindOptions = {}): Promise<Litecoind> {
  return retryOnPortClash(() => startLitecoindOnce(opts));
}

async function startLitecoindOnce(opts: LitecoindOptions): Promise<Litecoind> {
  const started = Date.now();
  const dir = makeTempDir('litecoind');
  const processes: ManagedProcess[] = [];
  const rpcUser = 'minefleet';
  const rpcPassword = randomBytes(12).toString('hex');
  try {
    const [rpc1, p2p1, rpc2] = await Promise.all([freePort(), freePort(), freePort()]);
    const common = (name: string, rpcPort: number, extraRpc?: LitecoindOptions['rpcHost']): string[] => {
      const datadir = path.join(dir, name);
      mkdirSync(datadir);
      return [
        '-regtest',
        `-datadir=${datadir}`,
        '-server',
        `-rpcuser=${rpcUser}`,
        `-rpcpassword=${rpcPassword}`,
        '-rpcbind=127.0.0.1',
        '-rpcallowip=127.0.0.1',
        ...(extraRpc ? [`-rpcbind=${extraRpc.address}`, `-rpcallowip=${extraRpc.allowIp}`] : []),
        `-rpcport=${rpcPort}`,
        // Nothing outside 127.0.0.1 exists here.
        '-dnsseed=0',
        '-discover=0',
        '-listenonion=0',
        '-upnp=0',
        '-fallbackfee=0.0002',
        // A 1000-key pool (the default) costs seconds of key derivation in createwallet.
        '-keypool=10',
        '-printtoconsole=1',
        '-nodebuglogfile',
        '-shrinkdebugfile=0',
      ];
    };
    // Debian's litecoind wrapper runs `[ -e ~/.litecoin ] || mkdir ~/.litecoin`: two nodes started
    // at once on a machine that never ran litecoind race on it ("File exists").
    mkdirSync(path.join(homedir(), '.litecoin'), { recursive: true, mode: 0o700 });
    const node1 = spawnProcess({
      name: 'litecoind-1',
      command: systemBinPath('litecoind'),
      args: [...common('node1', rpc1, opts.rpcHost), '-listen=1', '-bind=127.0.0.1', `-port=${p2p1}`],
      logFile: path.join(dir, 'node1.log'),
    });
    processes.push(node1);
    const node2 = spawnProcess({
      name: 'litecoind-2',
      command: systemBinPath('litecoind'),
      args: [...common('node2', rpc2), '-listen=0', `-connect=127.0.0.1:${p2p1}`, '-disablewallet'],
      logFile: path.join(dir, 'node2.log'),
    });
    processes.push(node2);

    const client1 = new RpcClient(`http://127.0.0.1:${rpc1}/`, rpcUser, rpcPassword);
    const client2 = new RpcClient(`http://127.0.0.1:${rpc2}/`, rpcUser, rpcPassword);
    const ready = { timeoutMs: 90_000, intervalMs: 100 };
    await Promise.all([
      node1.waitUntilReady(async () => node1.listensOn(rpc1) && node1.listensOn(p2p1) && (await client1.call('getblockchaininfo').then(() => true)), {
        ...ready,
        description: 'litecoind node 1 RPC',
      }),
      node2.waitUntilReady(async () => node2.listensOn(rpc2) && (await client2.call('getblockchaininfo').then(() => true)), {
        ...ready,
        description: 'litecoind node 2 RPC',
      }),
    ]);
    await client1.call('createwallet', [WALLET]);
    await node1.waitUntilReady(async () => (await client1.call<number>('getconnectioncount')) >= 1, {
      ...ready,
      description: 'litecoind node 2 to connect to node 1 (getconnectioncount >= 1)',
    });

    let stopped = false;
    const newAddress = (): Promise<string> => client1.call<string>('getnewaddress', ['', 'bech32']);
    return {
      rpcUrl: client1.url,
      rpcUser,
      rpcPassword,
      rpcPort: rpc1,
      p2pPort: p2p1,
      startupMs: Date.now() - started,
      rpc: (method, params) => client1.call(method, params),
      newAddress,
      async mine(n, address) {
        const to = address ?? (await newAddress());
        return client1.call<string[]>('generatetoaddress', [n, to]);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await Promise.all(processes.map((p) => p.stop(10_000)));
        await removeTempDir(dir);
      },
      pids: () => processes.filter((p) => p.running).map((p) => p.pid),
    };
  } catch (err) {
    await Promise.all(processes.map((p) => p.stop(5_000)));
    await removeTempDir(dir);
    throw err;
  }
}

class RpcClient {
  private readonly auth: string;
  private nextId = 1;

  constructor(
    readonly url: string,
    user: string,
    password: string,
  ) {
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const res = await fetch(this.url, {
      method: 'POST',
      // No keep-alive: litecoind's HTTP server waits for idle connections to close when shutting down.
      headers: { 'content-type': 'application/json', authorization: this.auth, connection: 'close' },
      body: JSON.stringify({ jsonrpc: '1.0', id: this.nextId++, method, params }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let body: { result?: T; error?: { code: number; message: string } | null };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`litecoind ${method}: HTTP ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
    }
    if (body.error) throw new LitecoinRpcError(method, body.error.code, body.error.message);
    return body.result as T;
  }
}
