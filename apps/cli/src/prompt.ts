import type { Io } from './io';
import { CliError, ExitCode, InterruptedError } from './errors';

/** The longest answer a prompt takes (a registry token fits). */
const maxAnswerBytes = 8 * 1024;

/**
 * Asks on the terminal and reads one line; with `secret`, nothing typed is shown (a password).
 * Ctrl-C interrupts, Ctrl-D on an empty line ends the input.
 */
export async function prompt(io: Io, question: string, secret: boolean): Promise<string> {
  const stdin = io.stdin;
  if (!stdin?.isTTY) throw new CliError(`${question.replace(/:\s*$/, '')} is needed, and there is no terminal to ask on; pass it as a flag (or --password-stdin)`, ExitCode.usage);
  io.stderr.write(question);
  const undoRaw = stdin.raw();
  const typed: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of stdin.stream as AsyncIterable<Buffer | string>) {
      for (const byte of typeof chunk === 'string' ? Buffer.from(chunk) : chunk) {
        if (byte === 0x03) throw new InterruptedError('SIGINT');
        if (byte === 0x0d || byte === 0x0a || (byte === 0x04 && bytes === 0)) return Buffer.concat(typed).toString('utf8');
        if (byte === 0x7f || byte === 0x08) {
          const all = Buffer.concat(typed);
          typed.length = 0;
          typed.push(all.subarray(0, Math.max(0, all.length - 1)));
          bytes = typed[0].length;
          if (!secret) io.stderr.write('\b \b');
          continue;
        }
        if (bytes >= maxAnswerBytes) continue;
        typed.push(Buffer.from([byte]));
        bytes++;
        if (!secret) io.stderr.write(Buffer.from([byte]));
      }
    }
    return Buffer.concat(typed).toString('utf8');
  } finally {
    undoRaw();
    io.stderr.write('\n');
    stdin.stream.pause();
  }
}

/** All of stdin, without the final newline (docker login --password-stdin). */
export async function readAllStdin(io: Io): Promise<string> {
  if (!io.stdin) throw new CliError('--password-stdin: this process has no standard input', ExitCode.usage);
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of io.stdin.stream as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += b.length;
    if (bytes > maxAnswerBytes) throw new CliError(`--password-stdin: more than ${maxAnswerBytes} bytes on stdin`, ExitCode.usage);
    parts.push(b);
  }
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}
