import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { binPath } from './paths.js';
import { freePort, retryOnPortClash } from './ports.js';
import { makeTempDir, removeTempDir, spawnProcess, type ManagedProcess } from './process.js';

export interface FerretDB {
  /** mongodb://HOST:PORT/ (or the MONGODB_URI from the environment). */
  uri: string;
  /** Stops the server but keeps port and data, for outage tests; startServer() brings it back. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  stop(): Promise<void>;
  /** PIDs of the running server (empty against an external MONGODB_URI). */
  pids(): number[];
  /** Start-up time in ms (0 against an external MONGODB_URI). */
  startupMs: number;
}

/**
 * FerretDB v1 with its SQLite backend: a real MongoDB-wire server in one Go process. When
 * MONGODB_URI is set, that server is used instead and nothing is started.
 */
export function startFerretDB(opts: { host?: string } = {}): Promise<FerretDB> {
  return retryOnPortClash(() => startFerretDBOnce(opts.host ?? '127.0.0.1'));
}

/** host: address to listen on (default 127.0.0.1; the demo uses the node's bridge address so pods reach it). */
async function startFerretDBOnce(host: string): Promise<FerretDB> {
  const external = process.env.MONGODB_URI;
  if (external) return externalMongo(external);

  const started = Date.now();
  const dir = makeTempDir('ferretdb');
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  const stateDir = path.join(dir, 'state');
  mkdirSync(dataDir);
  mkdirSync(stateDir);
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dataDir}/`,
    `--listen-addr=${host}:${port}`,
    `--state-dir=${stateDir}`,
    '--telemetry=disable',
    '--debug-addr=-', // no metrics/pprof listener (its default port would clash between instances)
    '--log-level=warn',
  ];
  let server: ManagedProcess | undefined;

  const startServer = async (): Promise<void> => {
    if (server?.running) return;
    server = spawnProcess({ name: 'ferretdb', command: binPath('ferretdb'), args, logFile: path.join(dir, 'ferretdb.log') });
    const proc = server;
    await proc.waitUntilReady(async () => proc.listensOn(port) && (await canConnect(host, port)), {
      timeoutMs: 60_000,
      intervalMs: 25,
      description: `ferretdb to accept connections on ${host}:${port}`,
    });
  };
  const stopServer = async (): Promise<void> => {
    // FerretDB waits ~3 s for open client connections on SIGTERM; an outage test wants it gone.
    await server?.stop(1_000);
  };

  try {
    await startServer();
  } catch (err) {
    await stopServer();
    await removeTempDir(dir);
    throw err;
  }
  let stopped = false;
  return {
    uri: `mongodb://${host}:${port}/`,
    startupMs: Date.now() - started,
    stopServer,
    startServer: async () => {
      if (stopped) throw new Error('startServer: this FerretDB was stopped for good with stop()');
      await startServer();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServer();
      await removeTempDir(dir);
    },
    pids: () => (server?.running ? [server.pid] : []),
  };
}

function externalMongo(uri: string): FerretDB {
  const unsupported = (what: string) => async (): Promise<void> => {
    throw new Error(`${what} is not supported against an external MONGODB_URI (${redactUri(uri)}); unset MONGODB_URI to use the harness's FerretDB`);
  };
  return {
    uri,
    startupMs: 0,
    stopServer: unsupported('stopServer()'),
    startServer: unsupported('startServer()'),
    stop: async () => undefined,
    pids: () => [],
  };
}

/** mongodb://user:secret@host → mongodb://user:***@host, so credentials never reach logs. */
function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
