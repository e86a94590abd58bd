/**
 * The Postgres protocol's messages past startup: frontend messages read with pg-protocol's
 * BufferReader, backend messages written with its Writer (pg-gateway handles the startup,
 * TLS and the byte stream's framing).
 */
import { BufferReader } from 'pg-protocol/dist/buffer-reader.js';
import { Writer } from 'pg-protocol/dist/buffer-writer.js';
import type { PgType } from './pg-types.js';
import type { EncodedColumn } from './values.js';

export type FrontendMessage =
  | { type: 'query'; sql: string }
  | { type: 'parse'; name: string; sql: string; paramTypes: number[] }
  | {
      type: 'bind';
      portal: string;
      statement: string;
      paramFormats: number[];
      params: (Buffer | null)[];
      resultFormats: number[];
    }
  | { type: 'describe'; target: 'S' | 'P'; name: string }
  | { type: 'execute'; portal: string; maxRows: number }
  | { type: 'close'; target: 'S' | 'P'; name: string }
  | { type: 'sync' }
  | { type: 'flush' }
  | { type: 'terminate' }
  | { type: 'password'; password: string }
  | { type: 'unsupported'; code: string };

function repeat<T>(count: number, read: () => T): T[] {
  return Array.from({ length: count }, read);
}

/** One whole frontend message (type byte, length, body); its bytes are copied out. */
export function readFrontendMessage(data: Uint8Array): FrontendMessage {
  const reader = new BufferReader();
  reader.setBuffer(0, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const code = String.fromCharCode(reader.byte());
  reader.int32();
  switch (code) {
    case 'Q':
      return { type: 'query', sql: reader.cstring() };
    case 'P': {
      const name = reader.cstring();
      const sql = reader.cstring();
      return { type: 'parse', name, sql, paramTypes: repeat(reader.int16(), () => reader.uint32()) };
    }
    case 'B': {
      const portal = reader.cstring();
      const statement = reader.cstring();
      const paramFormats = repeat(reader.int16(), () => reader.int16());
      const params = repeat(reader.int16(), () => {
        const length = reader.int32();
        return length < 0 ? null : Buffer.from(reader.bytes(length));
      });
      const resultFormats = repeat(reader.int16(), () => reader.int16());
      return { type: 'bind', portal, statement, paramFormats, params, resultFormats };
    }
    case 'D':
      return { type: 'describe', target: reader.string(1) as 'S' | 'P', name: reader.cstring() };
    case 'E':
      return { type: 'execute', portal: reader.cstring(), maxRows: reader.int32() };
    case 'C':
      return { type: 'close', target: reader.string(1) as 'S' | 'P', name: reader.cstring() };
    case 'S':
      return { type: 'sync' };
    case 'H':
      return { type: 'flush' };
    case 'X':
      return { type: 'terminate' };
    case 'p':
      return { type: 'password', password: reader.cstring() };
    default:
      return { type: 'unsupported', code };
  }
}

/** A CancelRequest (sent on a connection of its own, before any startup). */
export function readCancelRequest(data: Uint8Array): { processId: number; secret: number } | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length !== 16 || b.readInt32BE(0) !== 16 || b.readInt32BE(4) !== 80877102) return undefined;
  return { processId: b.readInt32BE(8), secret: b.readInt32BE(12) };
}

const code = (c: string) => c.charCodeAt(0);

export const backend = {
  authenticationOk: () => new Writer().addInt32(0).flush(code('R')),
  authenticationCleartextPassword: () => new Writer().addInt32(3).flush(code('R')),
  parameterStatus: (name: string, value: string) =>
    new Writer().addCString(name).addCString(value).flush(code('S')),
  backendKeyData: (processId: number, secret: number) =>
    new Writer().addInt32(processId).addInt32(secret).flush(code('K')),
  readyForQuery: (status: 'I' | 'T' | 'E') => new Writer().addString(status).flush(code('Z')),
  parseComplete: () => new Writer().flush(code('1')),
  bindComplete: () => new Writer().flush(code('2')),
  closeComplete: () => new Writer().flush(code('3')),
  noData: () => new Writer().flush(code('n')),
  emptyQueryResponse: () => new Writer().flush(code('I')),
  portalSuspended: () => new Writer().flush(code('s')),
  commandComplete: (tag: string) => new Writer().addCString(tag).flush(code('C')),
  parameterDescription(oids: number[]): Buffer {
    const w = new Writer().addInt16(oids.length);
    for (const oid of oids) w.addInt32(oid);
    return w.flush(code('t'));
  },
  rowDescription(fields: { name: string; type: PgType; format: 0 | 1 }[]): Buffer {
    const w = new Writer().addInt16(fields.length);
    for (const f of fields) {
      w.addCString(f.name).addInt32(0).addInt16(0).addInt32(f.type.oid).addInt16(f.type.size);
      w.addInt32(f.type.modifier).addInt16(f.format);
    }
    return w.flush(code('T'));
  },
  /** `severity` FATAL ends the connection; ERROR ends the statement. */
  errorResponse(fields: {
    severity: 'ERROR' | 'FATAL';
    code: string;
    message: string;
    hint?: string;
  }): Buffer {
    const w = new Writer();
    w.addString('S').addCString(fields.severity).addString('V').addCString(fields.severity);
    w.addString('C').addCString(fields.code).addString('M').addCString(fields.message);
    if (fields.hint) w.addString('H').addCString(fields.hint);
    w.addCString('');
    return w.flush(code('E'));
  },
};

/** DataRow messages for rows `from`..`to` of encoded columns, in one buffer. */
export function dataRows(columns: EncodedColumn[], from: number, to: number): Buffer {
  let size = (to - from) * (7 + 4 * columns.length);
  for (const { sources, froms, tos } of columns) {
    for (let r = from; r < to; r++) if (sources[r] !== null) size += tos[r] - froms[r];
  }
  const out = Buffer.allocUnsafe(size);
  // Lengths written byte by byte: Buffer#writeInt32BE checks its arguments at every call.
  const int32 = (at: number, value: number) => {
    out[at] = value >>> 24;
    out[at + 1] = value >>> 16;
    out[at + 2] = value >>> 8;
    out[at + 3] = value;
  };
  let at = 0;
  for (let r = from; r < to; r++) {
    const start = at;
    out[at] = 0x44; // 'D'
    out[at + 5] = columns.length >>> 8;
    out[at + 6] = columns.length;
    at += 7;
    for (let c = 0; c < columns.length; c++) {
      const { sources, froms, tos } = columns[c];
      const source = sources[r];
      if (source === null) {
        int32(at, -1);
        at += 4;
        continue;
      }
      const begin = froms[r];
      const length = tos[r] - begin;
      int32(at, length);
      at += 4;
      // A loop beats a native call for the short values most cells are.
      if (length > 64) out.set(source.subarray(begin, begin + length), at);
      else for (let i = 0; i < length; i++) out[at + i] = source[begin + i];
      at += length;
    }
    int32(start + 1, at - start - 1);
  }
  return out;
}
