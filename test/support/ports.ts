import net from 'node:net';

// Ports are picked below Linux's ephemeral range (32768-60999) so that a port we hand out is not
// taken meanwhile by some outgoing connection; the random start keeps parallel workers apart.
const LOW = 20_000;
const HIGH = 32_000;
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (and not handed out before by this process). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no free port found on 127.0.0.1 in ${LOW}-${HIGH} after 200 attempts`);
}

const PORT_CLASH = /address already in use|EADDRINUSE|Unable to bind to|Binding RPC on address .* failed/i;

/**
 * Runs `start` again (with fresh ports, which `start` picks itself) when it failed because another
 * process took one of its ports between freePort() and the server binding it.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !(err instanceof Error) || !PORT_CLASH.test(err.message)) throw err;
    }
  }
}
