import { InvalidArgumentError } from '@flotilla/errors';
import type { AttachOptions, ExecOptions, TerminalSize } from '@flotilla/proto';
import { checkUser, checkWorkingDir } from './container-options';

/** Docker keeps a terminal's size in 16 bits. */
export const maxTerminalCells = 65_535;

/** A terminal size: both sides 1 to 65,535 cells. */
export function checkTerminalSize(field: string, size: TerminalSize): TerminalSize {
  for (const side of ['rows', 'columns'] as const) {
    const value = size[side];
    if (!Number.isInteger(value) || value < 1 || value > maxTerminalCells) throw InvalidArgumentError.field(`${field}.${side}`, value, `expected 1 to ${maxTerminalCells}`);
  }
  return size;
}

/**
 * What an exec runs, checked by the manager and again by the agent (sizes are the manager's
 * request limits): a program is required, env entries are NAME=value, user and working directory
 * as for a create.
 */
export function checkExecOptions(field: string, options: ExecOptions | undefined): ExecOptions {
  if (!options) throw InvalidArgumentError.field(field, '', 'is required');
  if (options.command.length === 0 || !options.command[0]) throw InvalidArgumentError.field(`${field}.command`, options.command[0] ?? '', 'a program to run is required');
  options.env.forEach((entry, i) => {
    if (!/^[^=\0]+=/.test(entry) || entry.includes('\0')) throw InvalidArgumentError.field(`${field}.env[${i}]`, entry.slice(0, 40), 'expected NAME=value');
  });
  options.command.forEach((arg, i) => {
    if (arg.includes('\0')) throw InvalidArgumentError.field(`${field}.command[${i}]`, arg.slice(0, 40), 'must not contain a NUL byte');
  });
  checkUser(`${field}.user`, options.user);
  checkWorkingDir(`${field}.working_dir`, options.workingDir);
  if (options.terminalSize) {
    if (!options.tty) throw InvalidArgumentError.field(`${field}.terminal_size`, `${options.terminalSize.rows}x${options.terminalSize.columns}`, 'applies only with tty');
    checkTerminalSize(`${field}.terminal_size`, options.terminalSize);
  }
  return options;
}

/** The most stdin one exec or attach message may carry (the proto's contract). */
export const maxStdinMessageBytes = 1024 * 1024;

/** What an exec's or attach's caller sends after its start: stdin bytes, or the terminal's new size. */
export type SessionInput = { $case: 'stdin'; value: Buffer } | { $case: 'resize'; value: TerminalSize };

/** A message of an exec's or attach's caller after the start (the manager's and the agent's requests share this shape). */
export type SessionRequestMessage = { $case: 'start'; value: unknown } | SessionInput | undefined;

/** A message after the start: stdin only when the session reads it, resizes only with a TTY. */
export function checkSessionInput(options: { stdin: boolean; tty: boolean }, request: SessionRequestMessage, what: 'exec' | 'attach' = 'exec'): SessionInput {
  if (request?.$case === 'stdin') {
    const size = `${request.value.length} bytes`;
    if (!options.stdin) throw InvalidArgumentError.field('stdin', size, `the ${what} was started without options.stdin`);
    if (request.value.length > maxStdinMessageBytes) throw InvalidArgumentError.field('stdin', size, `at most ${maxStdinMessageBytes} bytes per message`);
    return request;
  }
  if (request?.$case === 'resize') {
    if (!options.tty) throw InvalidArgumentError.field('resize', `${request.value.rows}x${request.value.columns}`, what === 'exec' ? 'the exec was started without options.tty' : 'the container has no TTY');
    return { $case: 'resize', value: checkTerminalSize('resize', request.value) };
  }
  throw InvalidArgumentError.field('request', request?.$case ?? 'empty', 'after the start, only stdin and resize messages');
}

/** How to attach: the terminal size, when given, within bounds. */
export function checkAttachOptions(field: string, options: AttachOptions | undefined): AttachOptions {
  const checked = options ?? { stdin: false, logs: false, terminalSize: undefined };
  if (checked.terminalSize) checkTerminalSize(`${field}.terminal_size`, checked.terminalSize);
  return checked;
}
