/** Choosing loopback ports for the demo's processes. */
import { createServer } from 'node:net';
import { freePort } from '../tools/nats-server.js';

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `preferred` when it is free and not in `taken`, else any free port; the result joins `taken`. */
export async function pickPort(preferred: number, taken: Set<number>): Promise<number> {
  let port = preferred;
  if (taken.has(port) || !(await portIsFree(port))) {
    do port = await freePort();
    while (taken.has(port));
  }
  taken.add(port);
  return port;
}
