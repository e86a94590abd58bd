/** Tests start their own nats-server: see src/tools/nats-server.ts. */
export {
  freePort,
  type NatsServer,
  type NatsServerOptions,
  startNatsServer,
} from '../../src/tools/nats-server.js';
