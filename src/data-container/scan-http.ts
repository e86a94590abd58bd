/** `POST /scan` on the data container: the NATS scan contract over HTTP (stub for now). */
import type { FastifyInstance } from 'fastify';
import type { LoadedTable } from './table.js';

export function registerScanRoute(_app: FastifyInstance, _getTable: () => LoadedTable | undefined): void {}
