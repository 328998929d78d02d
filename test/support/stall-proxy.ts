import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one upstream (e.g. kube-apiserver) that can be told to
 * stall: while stalled, bytes from clients are held (connections stay open, nothing reaches the
 * upstream), as on a partitioned network; answers from the upstream still flow. On resume the
 * held bytes are forwarded, so whatever a client still sends or has not withdrawn (by closing its
 * connection) reaches the upstream late — exactly what a bounded leader must not leave behind.
 */
export interface StallProxy {
  port: number;
  stall(): void;
  resume(): void;
  /** Client bytes forwarded to the upstream, and when the last of them was (ms since epoch). */
  readonly forwarded: { bytes: number; lastAt: number };
  close(): Promise<void>;
}

export async function startStallProxy(upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<StallProxy> {
  let stalled = false;
  const conns = new Set<{ flush: () => void; destroy: () => void }>();
  const forwarded = { bytes: 0, lastAt: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, upstreamHost);
    const held: Buffer[] = [];
    const send = (b: Buffer) => {
      forwarded.bytes += b.length;
      forwarded.lastAt = Date.now();
      upstream.write(b);
    };
    const conn = {
      flush: () => {
        for (const b of held.splice(0)) send(b);
      },
      destroy: () => {
        client.destroy();
        upstream.destroy();
      },
    };
    conns.add(conn);
    client.on('data', (b: Buffer) => (stalled ? held.push(b) : send(b)));
    upstream.on('data', (b: Buffer) => client.write(b));
    // A client that gives up withdraws what it had not yet delivered.
    const end = () => {
      held.length = 0;
      conns.delete(conn);
      conn.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    stall: () => {
      stalled = true;
    },
    resume: () => {
      stalled = false;
      for (const c of conns) c.flush();
    },
    forwarded,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
