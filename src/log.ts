/**
 * Logs as JSON lines on stderr through pino, fastify's own logger: `{"level":"info",
 * "time":…, "component":…, "msg":…, …fields}`. LOG_LEVEL picks the level (default info;
 * `silent` turns logging off). stdout stays free for command output (the `scan` command prints
 * rows there). No secret reaches a line: Authorization headers and key, token and password
 * fields are censored, and URL credentials are cut out of every string (src/redact.ts).
 */
import { type Logger as PinoLogger, pino } from 'pino';
import { REDACTED, redactSecrets } from './redact.js';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(component: string): Logger;
  /** The pino logger underneath, for fastify (`loggerInstance`). */
  readonly pino: PinoLogger;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Fields whose values are secrets wherever they appear (one level deep, or at the top). */
const SECRET_KEYS = ['authorization', 'password', 'token', 'apiKey', 'api_key', 'secret', 'cookie'];
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`]),
];

/** LOG_LEVEL, checked: a typo must not turn logging off or on unnoticed. */
export function logLevel(value = process.env.LOG_LEVEL): string {
  const level = (value || 'info').trim().toLowerCase();
  if (!LEVELS.includes(level)) {
    throw new Error(`LOG_LEVEL=${value} is not a log level: use one of ${LEVELS.join(', ')}`);
  }
  return level;
}

/** Strings with their secrets cut out, through objects and arrays (a few levels deep). */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return redactSecrets(value.message);
  if (depth > 3 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = scrub(v, depth + 1);
  return out;
}

let root: PinoLogger | undefined;

/** Synchronous, so that a line written just before process.exit() is not lost. */
function stderr() {
  const destination = pino.destination({ dest: 2, sync: true });
  // stderr gone (a closed terminal, a reader that left): there is nowhere to log to.
  destination.on('error', () => undefined);
  return destination;
}

/** The process's one pino logger, made on first use (so LOG_LEVEL is read after startup code ran). */
export function rootLogger(): PinoLogger {
  root ??= pino(
    {
      level: logLevel(),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => scrub(fields) as Record<string, unknown>,
      },
      hooks: {
        // The message too: `log.warn(\`cannot reach ${url}\`)` must not print a password.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as Parameters<typeof method>,
          );
        },
      },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
    },
    stderr(),
  );
  return root;
}

function wrap(logger: PinoLogger, component: string): Logger {
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      if (fields) logger[level](fields, message);
      else logger[level](message);
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (sub) => createLogger(`${component}:${sub}`),
    pino: logger,
  };
}

export function createLogger(component: string): Logger {
  return wrap(rootLogger().child({ component }), component);
}
