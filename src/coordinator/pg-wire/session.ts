/**
 * One Postgres client connection past its startup message: authentication, then the simple
 * (Query) and extended (Parse/Bind/Describe/Execute/Sync) protocols, one message at a time
 * in arrival order. Queries run through openQuery, as POST /query's do; a CancelRequest
 * with this session's key interrupts the one running.
 */
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { DuckDBType } from '@duckdb/node-api';
import { QueryError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { CatalogMirror } from '../catalog/catalog-mirror.js';
import { pgCompatible } from '../catalog/pg-compatible.js';
import type { ExecutorContext } from '../execute/query.js';
import { duckDbStatement } from '../plan/analyze/duckdb-tree.js';
import { backend, dataRows, type FrontendMessage } from './messages.js';
import { bindParameters, parameterCast, parameterText } from './parameters.js';
import { OID, parameterOid, pgTypeOf } from './pg-types.js';
import { type Field, formatOf, RunningQuery } from './portal.js';
import { type StatementShape, statementShape } from './shape.js';
import { pgError } from './sqlstate.js';
import {
  REPORTED_SETTINGS,
  SERVER_SETTINGS,
  type SessionStatement,
  sessionStatement,
  settingName,
  splitStatements,
  withSessionSettings,
} from './statements.js';
import { cellsColumn } from './values.js';

/** Checks a password (an API key); anything but false/undefined lets the client in. */
export type PasswordVerifier = (
  password: string,
) => boolean | { keyId: string } | undefined | Promise<boolean | { keyId: string } | undefined>;

interface Prepared {
  sql: string;
  /** OIDs the client declared (0: unspecified). */
  declared: number[];
  shape?: Promise<StatementShape>;
}

interface Portal {
  prepared: Prepared;
  /** The SQL with its parameters bound. */
  sql: string;
  resultFormats: number[];
  session?: SessionStatement;
  running?: RunningQuery;
  /** Aborts the running query (cancel, or the client going away). */
  abort: AbortController;
}

const TEXT_FIELD = { oid: OID.text, size: -1, modifier: -1 };

export class PgSession {
  readonly processId = randomInt(1, 2 ** 31 - 1);
  private readonly secret = randomInt(1, 2 ** 31 - 1);
  private readonly settings: Record<string, string> = { ...SERVER_SETTINGS };
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();
  private status: 'I' | 'T' | 'E' = 'I';
  private authenticated = false;
  /** After an error in the extended protocol, messages are skipped until Sync. */
  private skipping = false;
  private cancelled = false;
  private queue: Promise<void> = Promise.resolve();
  private out: Buffer[] = [];

  constructor(
    private readonly socket: () => Socket,
    private readonly ctx: ExecutorContext,
    private readonly log: Logger,
    private readonly verifyPassword: PasswordVerifier | undefined,
  ) {}

  /** Answers the startup message: asks for a password, or lets the client in. */
  start(parameters: Record<string, string>): void {
    for (const [name, value] of Object.entries(parameters)) {
      this.settings[settingName(name, this.settings) ?? name] = value;
    }
    if (this.verifyPassword) {
      this.send(backend.authenticationCleartextPassword());
      this.flush();
    } else this.admit();
  }

  private admit(): void {
    this.authenticated = true;
    this.send(backend.authenticationOk());
    for (const name of [...REPORTED_SETTINGS, 'application_name']) {
      if (this.settings[name] !== undefined) this.send(backend.parameterStatus(name, this.settings[name]));
    }
    this.send(backend.parameterStatus('session_authorization', this.settings.user ?? ''));
    this.send(backend.backendKeyData(this.processId, this.secret));
    this.send(backend.readyForQuery('I'));
    this.flush();
  }

  /** Queues one message; messages are handled one after another. */
  receive(message: FrontendMessage): void {
    this.queue = this.queue.then(() =>
      this.handle(message).catch((err: unknown) => {
        this.log.warn('postgres session failed', { error: err instanceof Error ? err.message : String(err) });
        this.socket().destroy();
      }),
    );
  }

  /** A CancelRequest: interrupts what runs now, if the key matches. */
  cancel(secret: number): void {
    if (secret !== this.secret) return;
    this.cancelled = true;
    for (const portal of this.portals.values()) portal.abort.abort();
  }

  /** The client went away: stop whatever still runs for it. */
  end(): void {
    for (const portal of this.portals.values()) this.closePortal(portal);
    this.portals.clear();
  }

  private send(message: Buffer): void {
    this.out.push(message);
  }

  private flush(): void {
    if (this.out.length === 0) return;
    const socket = this.socket();
    if (!socket.destroyed) socket.write(this.out.length === 1 ? this.out[0] : Buffer.concat(this.out));
    this.out = [];
  }

  /** Sends what is queued and waits while the client is slower than the rows. */
  private sendNow = async (message: Buffer): Promise<void> => {
    this.send(message);
    const socket = this.socket();
    this.flush();
    if (socket.writableNeedDrain && !socket.destroyed) {
      await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    }
  };

  private async handle(message: FrontendMessage): Promise<void> {
    if (!this.authenticated) return this.authenticate(message);
    if (this.skipping && message.type !== 'sync') return;
    try {
      await this.dispatch(message);
    } catch (err) {
      this.sendError(err);
      if (message.type !== 'query') this.skipping = true;
    }
    this.flush();
  }

  private async authenticate(message: FrontendMessage): Promise<void> {
    const verdict = message.type === 'password' ? await this.verifyPassword?.(message.password) : undefined;
    if (verdict) return this.admit();
    const user = this.settings.user ?? '';
    this.send(
      backend.errorResponse({
        severity: 'FATAL',
        code: '28P01',
        message: `password authentication failed for user "${user}"`,
        hint: 'the password is one of the coordinator API keys (--api-keys / API_KEYS)',
      }),
    );
    this.flush();
    this.socket().end();
  }

  private async dispatch(message: FrontendMessage): Promise<void> {
    switch (message.type) {
      case 'query':
        return this.simpleQuery(message.sql);
      case 'parse':
        this.statements.set(message.name, {
          sql: withSessionSettings(message.sql, this.settings),
          declared: message.paramTypes,
        });
        return this.send(backend.parseComplete());
      case 'bind':
        return this.bind(message);
      case 'describe':
        return message.target === 'S'
          ? this.describeStatement(message.name)
          : this.describePortal(message.name);
      case 'execute':
        return this.execute(this.portal(message.portal), message.maxRows);
      case 'close':
        if (message.target === 'S') this.statements.delete(message.name);
        else {
          const portal = this.portals.get(message.name);
          if (portal) this.closePortal(portal);
          this.portals.delete(message.name);
        }
        return this.send(backend.closeComplete());
      case 'sync':
        this.skipping = false;
        if (this.status !== 'T') this.end();
        this.send(backend.readyForQuery(this.status));
        return;
      case 'flush':
        return;
      case 'terminate':
        this.end();
        this.socket().end();
        return;
      default:
        throw new QueryError('protocol_error', `message ${JSON.stringify(message)} is not supported here`);
    }
  }

  private sendError(err: unknown): void {
    const error = pgError(err);
    const code = this.cancelled && error.code === '57014' ? '57014' : error.code;
    const message =
      this.cancelled && code === '57014' ? 'canceling statement due to user request' : error.message;
    this.cancelled = false;
    if (this.status === 'T') this.status = 'E';
    this.send(backend.errorResponse({ severity: 'ERROR', code, message }));
  }

  private async simpleQuery(text: string): Promise<void> {
    const statements = splitStatements(text).map((sql) => withSessionSettings(sql, this.settings));
    if (statements.length === 0) this.send(backend.emptyQueryResponse());
    try {
      for (const sql of statements) {
        // The unnamed portal, where a CancelRequest finds it.
        const portal = this.newPortal({ sql, declared: [] }, sql, []);
        this.portals.set('', portal);
        try {
          if (portal.session?.kind !== 'set' && portal.session?.kind !== 'transaction') {
            await this.startPortal(portal);
            this.send(backend.rowDescription(this.fieldsOf(portal)));
          }
          await this.execute(portal, 0);
        } finally {
          this.closePortal(portal);
          this.portals.delete('');
        }
      }
    } catch (err) {
      this.sendError(err);
    }
    this.send(backend.readyForQuery(this.status));
  }

  private newPortal(prepared: Prepared, sql: string, resultFormats: number[]): Portal {
    const session = sessionStatement(sql, this.settings);
    return { prepared, sql, resultFormats, session, abort: new AbortController() };
  }

  private portal(name: string): Portal {
    const portal = this.portals.get(name);
    if (!portal) throw new QueryError('bad_request', `portal "${name}" does not exist`);
    return portal;
  }

  private shapeOf(prepared: Prepared): Promise<StatementShape> {
    prepared.shape ??= statementShape(prepared.sql, this.ctx);
    return prepared.shape;
  }

  private async bind(message: Extract<FrontendMessage, { type: 'bind' }>): Promise<void> {
    const prepared = this.statements.get(message.statement);
    if (!prepared)
      throw new QueryError('bad_request', `prepared statement "${message.statement}" does not exist`);
    let sql = prepared.sql;
    if (message.params.length > 0) {
      const shape = await this.shapeOf(prepared);
      const inferred = (i: number) => (shape.params[i] ? parameterOid(shape.params[i]) : 0);
      const oids = message.params.map((_, i) => prepared.declared[i] || inferred(i));
      const values = message.params.map((v, i) =>
        parameterText(v, formatOf(message.paramFormats, i), oids[i]),
      );
      const casts = oids.map((oid, i) => parameterCast(prepared.declared[i], oid));
      const compatible = pgCompatible(prepared.sql);
      const tree = await this.ctx.engine.parse(compatible);
      duckDbStatement(tree, compatible);
      const con = await (await CatalogMirror.of(this.ctx.catalog)).connect();
      try {
        sql = await bindParameters(con, tree, values, casts);
      } finally {
        con.closeSync();
      }
    }
    const old = this.portals.get(message.portal);
    if (old) this.closePortal(old);
    this.portals.set(message.portal, this.newPortal(prepared, sql, message.resultFormats));
    this.send(backend.bindComplete());
  }

  private async describeStatement(name: string): Promise<void> {
    const prepared = this.statements.get(name);
    if (!prepared) throw new QueryError('bad_request', `prepared statement "${name}" does not exist`);
    const session = sessionStatement(prepared.sql, this.settings);
    if (session) {
      this.send(backend.parameterDescription([]));
      return this.describeSession(session);
    }
    const shape = await this.shapeOf(prepared);
    this.send(
      backend.parameterDescription(shape.params.map((type, i) => prepared.declared[i] || parameterOid(type))),
    );
    if (shape.columns.length === 0) return this.send(backend.noData());
    const fields = shape.columns.map((c) => ({
      name: c.name,
      type: c.type ? pgTypeOf(c.type) : TEXT_FIELD,
      format: 0 as const,
    }));
    this.send(backend.rowDescription(fields));
  }

  private describeSession(session: SessionStatement): void {
    this.send(
      session.kind === 'show'
        ? backend.rowDescription([{ name: session.name, type: TEXT_FIELD, format: 0 }])
        : backend.noData(),
    );
  }

  private async describePortal(name: string): Promise<void> {
    const portal = this.portal(name);
    if (portal.session) return this.describeSession(portal.session);
    await this.startPortal(portal);
    this.send(backend.rowDescription(this.fieldsOf(portal)));
  }

  private fieldsOf(portal: Portal): Field[] {
    if (portal.session?.kind === 'show') return [{ name: portal.session.name, type: TEXT_FIELD, format: 0 }];
    return portal.running?.fields ?? [];
  }

  private async startPortal(portal: Portal): Promise<void> {
    if (portal.session || portal.running) return;
    this.cancelled = false;
    const fallback = async (): Promise<DuckDBType[] | undefined> => {
      const shape = await statementShape(portal.sql, this.ctx).catch(() => undefined);
      return shape?.columns.map((c) => c.type as DuckDBType);
    };
    portal.running = await RunningQuery.start(
      portal.sql,
      this.ctx,
      portal.abort.signal,
      portal.resultFormats,
      fallback,
    );
  }

  private async execute(portal: Portal, maxRows: number): Promise<void> {
    if (portal.session) return this.runSession(portal.session);
    await this.startPortal(portal);
    const running = portal.running as RunningQuery;
    const more = await running.sendRows(maxRows, this.sendNow);
    if (more) return this.send(backend.portalSuspended());
    this.send(backend.commandComplete(`SELECT ${running.sent}`));
  }

  private runSession(statement: SessionStatement): void {
    switch (statement.kind) {
      case 'set':
        if (statement.name && statement.value !== undefined) {
          this.settings[settingName(statement.name, this.settings) ?? statement.name] = statement.value;
        }
        break;
      case 'transaction':
        this.status = statement.inBlock ? 'T' : 'I';
        break;
      case 'show': {
        const value = this.settings[settingName(statement.name, this.settings) as string];
        this.send(dataRows([cellsColumn([value ?? null])], 0, 1));
        break;
      }
    }
    this.send(backend.commandComplete(statement.kind === 'show' ? 'SHOW' : statement.tag));
  }

  private closePortal(portal: Portal): void {
    portal.running?.close();
    portal.running = undefined;
  }
}
