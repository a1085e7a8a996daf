import { createConnection, createServer, type Server, type Socket } from 'node:net';

type Mode = 'open' | 'cut' | 'stalled';

interface Link {
  client: Socket;
  server: Socket;
}

/**
 * A TCP proxy between the app and the database, for fault tests. It listens
 * on an ephemeral port of 127.0.0.1 and forwards each connection to the
 * target, until told otherwise:
 *
 * - `cut()`: every connection is reset on both sides, and new ones are reset
 *   as soon as they are accepted (a server that went away);
 * - `stall()`: connections stay open and new ones are accepted, but no byte
 *   moves in either direction (a frozen server or a silent network); what
 *   was sent waits in the sockets' buffers;
 * - `restore()`: forwarding resumes, the waiting bytes included;
 * - `close()`: everything is closed for good.
 */
export class TcpProxy {
  private mode: Mode = 'open';
  private readonly links = new Set<Link>();
  /** Connections accepted so far, whatever became of them. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer({ noDelay: true, pauseOnConnect: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address === null || typeof address === 'string') reject(new Error('the proxy has no port'));
        else resolve(address.port);
      });
    });
    const proxy = new TcpProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  cut(): void {
    this.mode = 'cut';
    for (const link of this.links) this.reset(link);
  }

  stall(): void {
    this.mode = 'stalled';
    for (const { client, server } of this.links) {
      client.pause();
      server.pause();
    }
  }

  restore(): void {
    this.mode = 'open';
    for (const { client, server } of this.links) {
      client.resume();
      server.resume();
    }
  }

  async close(): Promise<void> {
    this.mode = 'cut';
    for (const link of this.links) this.reset(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    this.accepted++;
    if (this.mode === 'cut') {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const server = createConnection({ host: target.host, port: target.port, noDelay: true });
    const link = { client, server };
    this.links.add(link);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => to.write(chunk));
      // A half-close passes through, as on a real network.
      from.on('end', () => to.end());
      from.on('error', () => this.reset(link));
      from.on('close', () => {
        this.links.delete(link);
        to.destroy();
      });
    };
    forward(client, server);
    forward(server, client);
    // Accepted paused (pauseOnConnect): nothing moves before the mode says so.
    if (this.mode === 'stalled') server.pause();
    else client.resume();
  }

  private reset({ client, server }: Link): void {
    for (const socket of [client, server]) {
      if (!socket.destroyed) socket.resetAndDestroy();
    }
  }
}
