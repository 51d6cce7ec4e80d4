// Free loopback ports for the processes the harness starts. The port is free when
// returned; a caller binds it soon after (nothing else here competes for ports).
import net, { type AddressInfo } from 'node:net';

/**
 * Every port handed out by this process. The kernel may give the same free port to two bind(0)
 * calls in a row, and a caller often asks for two before binding either (nginx's HTTP and HTTPS
 * ports): CI's run on 2aab814 rendered both on one port ("a duplicate default server").
 */
const given = new Set<number>();

/** A TCP port free on 127.0.0.1 right now, and not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error('freePort: 100 tries gave only ports already handed out');
}
