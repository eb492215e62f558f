import pino, { type Logger as PinoLogger } from 'pino';

/** Structured JSON logs through pino: one object per line, with time, level, message and fields. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  fields?: LogFields;
  write?: (line: string) => void;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Errors as name and message (a stack in every line is noise), bigints as strings (JSON has none). */
function plainFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) out[key] = plain(value);
  return out;
}

function wrap(logger: PinoLogger): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      // Checked first: the fields of a line below the level are never converted.
      if (!logger.isLevelEnabled(level)) return;
      if (fields) logger[level](plainFields(fields), message);
      else logger[level](message);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => wrap(logger.child(plainFields(fields))),
  };
}

/**
 * A pino logger behind Flotilla's small Logger interface, so domain code never sees pino: JSON
 * lines with the level as a word and an ISO time, on stderr unless `write` takes them.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write;
  const destination = write ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) } : process.stderr;
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: plainFields(options.fields ?? {}),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return wrap(logger);
}

/** A logger that drops everything, for tests and libraries used without one. */
export const silentLogger: Logger = wrap(pino({ level: 'silent' }));
