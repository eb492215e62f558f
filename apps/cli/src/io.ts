/** Where a command writes, and what it knows about the terminal. Tests pass their own. */
export interface Output {
  write(chunk: string | Uint8Array): void;
  /** True when writing to a terminal: tables fit its width, progress and colour are shown. */
  readonly isTTY: boolean;
  /** The terminal's width in columns, when it is one. */
  readonly columns: number | undefined;
  /** Resolves once everything written so far has been handed to the OS. */
  flush(): Promise<void>;
}

/** What a command reads: the bytes typed or piped in (exec -i). */
export interface Input {
  readonly stream: NodeJS.ReadableStream;
  /** True when reading a terminal. */
  readonly isTTY: boolean;
  /** Puts a terminal in raw mode (keys as typed, Ctrl-C a byte, no echo); answers the undo. */
  raw(): () => void;
  /** Stops reading, so the process can exit. */
  close(): void;
}

/** The terminal the command runs in, for programs given one (exec -t). */
export interface Terminal {
  /** Its size, when stdout is a terminal. */
  size(): { rows: number; columns: number } | undefined;
  /** Calls `listener` whenever it is resized; answers the unsubscribe. */
  onResize(listener: () => void): () => void;
}

export interface Io {
  stdout: Output;
  stderr: Output;
  /** Absent in tests that give no input. */
  stdin?: Input;
  terminal?: Terminal;
  env: NodeJS.ProcessEnv;
  /** Now, for "5 minutes ago". */
  now(): number;
}

function processOutput(stream: NodeJS.WriteStream): Output {
  // A reader that went away (`flotilla ps | head -1`) is not an error worth a stack trace.
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  return {
    write: (chunk) => void stream.write(chunk),
    get isTTY() {
      return Boolean(stream.isTTY);
    },
    get columns() {
      return stream.isTTY && stream.columns > 0 ? stream.columns : undefined;
    },
    flush: () => new Promise<void>((resolve) => (stream.writableNeedDrain ? stream.once('drain', () => resolve()) : resolve())),
  };
}

function processInput(): Input {
  const stdin = process.stdin;
  return {
    stream: stdin,
    get isTTY() {
      return Boolean(stdin.isTTY);
    },
    raw() {
      if (!stdin.isTTY) return () => undefined;
      stdin.setRawMode(true);
      return () => stdin.setRawMode(false);
    },
    close() {
      stdin.pause();
      stdin.destroy();
    },
  };
}

function processTerminal(): Terminal {
  const out = process.stdout;
  return {
    size: () => (out.isTTY && out.rows > 0 && out.columns > 0 ? { rows: out.rows, columns: out.columns } : undefined),
    onResize(listener) {
      out.on('resize', listener);
      return () => void out.off('resize', listener);
    },
  };
}

export function processIo(): Io {
  return { stdout: processOutput(process.stdout), stderr: processOutput(process.stderr), stdin: processInput(), terminal: processTerminal(), env: process.env, now: () => Date.now() };
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function colourEnabled(out: Output, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return out.isTTY;
}

export type Paint = (text: string) => string;

const sgr = (open: number, close: number): Paint => (text) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;

export interface Palette {
  green: Paint;
  red: Paint;
  yellow: Paint;
  dim: Paint;
  bold: Paint;
}

export function palette(enabled: boolean): Palette {
  if (!enabled) return { green: plain, red: plain, yellow: plain, dim: plain, bold: plain };
  return { green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

// eslint-disable-next-line no-control-regex
const ansi = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ansi, '');
}
