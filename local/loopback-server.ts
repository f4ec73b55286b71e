import type { Server } from 'node:http';

/** Starts `server` on 127.0.0.1 (port 0: any free one); answers the port it got and how to stop it, open connections and all. */
export async function listenOnLoopback(server: Server, port: number): Promise<{ port: number; stop: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
