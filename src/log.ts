/**
 * One-line human-readable logs on stderr: `time level [component] message key=value ...`.
 * stdout stays free for command output (the `scan` command prints rows there).
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(component: string): Logger;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
}

export function createLogger(component: string): Logger {
  const write = (level: string, message: string, fields?: LogFields) => {
    if (process.env.LOG_LEVEL === 'silent') return;
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => ` ${k}=${formatValue(v)}`)
          .join('')
      : '';
    process.stderr.write(`${new Date().toISOString()} ${level} [${component}] ${message}${extra}\n`);
  };
  return {
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARN', m, f),
    error: (m, f) => write('ERROR', m, f),
    child: (sub) => createLogger(`${component}:${sub}`),
  };
}
