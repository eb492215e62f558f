import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { firstEvent, type Logger } from '@flotilla/grpc';
import { checkSessionInput, type SessionRequestMessage } from '@flotilla/policy';
import { chunksOf } from './docker-chunks';
import { LogFrameDecoder } from './log-frames';

/** What an exec or an attach answers after its start. */
export type SessionOutput = { $case: 'stdout'; value: Buffer } | { $case: 'stderr'; value: Buffer } | { $case: 'exit'; value: { exitCode: number } };

/** One Docker hijacked connection (an exec's or an attach's) and what the relay needs around it. */
export interface HijackedSession {
  /** `exec` or `attach`, for messages. */
  what: 'exec' | 'attach';
  connection: Duplex;
  /** One raw stream (a TTY) rather than Docker's multiplexed frames. */
  tty: boolean;
  /** The caller may send stdin. */
  stdin: boolean;
  /** Best effort: Docker refuses a resize before the program runs or after it ended. */
  resize(rows: number, columns: number): Promise<void>;
  /** The exit code once the program has ended; undefined while it runs. */
  exitCode(): Promise<number | undefined>;
}

/** How long the relay asks Docker for the exit code once the output has closed (Docker sets it a moment later). */
const exitCodeTries = 50;
const exitCodePollMs = 100;

/** Writes to Docker's connection, waiting while it is full; drops bytes once it is closed (the program is gone). */
async function feed(connection: Duplex, bytes: Buffer, signal: AbortSignal): Promise<void> {
  if (connection.destroyed || connection.writableEnded) return;
  if (connection.write(bytes)) return;
  await firstEvent(connection, ['drain', 'close'], signal);
}

/**
 * Moves the caller's stdin and resizes to Docker and Docker's output to the caller, each side only
 * as fast as the other takes it, then answers the exit code. A bad caller message ends the session
 * with its error; the caller's half-close ends Docker's write side (Docker then closes the
 * program's stdin). The call's end (`signal`) closes Docker's connection.
 */
export async function relayHijacked(session: HijackedSession, requests: AsyncIterable<{ request?: SessionRequestMessage }>, write: (output: SessionOutput) => Promise<void>, signal: AbortSignal, logger: Logger): Promise<void> {
  const { connection } = session;
  let inputFailure: unknown;
  void (async () => {
    for await (const { request } of requests) {
      const item = checkSessionInput(session, request, session.what);
      if (item.$case === 'stdin') await feed(connection, item.value, signal);
      else await session.resize(item.value.rows, item.value.columns);
    }
    if (session.stdin && !signal.aborted && !connection.destroyed) connection.end();
  })().catch((err: unknown) => {
    inputFailure = err;
    connection.destroy();
  });

  const decoder = new LogFrameDecoder();
  try {
    for await (const chunk of chunksOf(connection, signal)) {
      if (session.tty) {
        await write({ $case: 'stdout', value: chunk });
        continue;
      }
      for (const frame of decoder.push(chunk)) await write(frame.stream === 'stderr' ? { $case: 'stderr', value: frame.data } : { $case: 'stdout', value: frame.data });
    }
  } catch (err) {
    throw inputFailure ?? err;
  }
  if (inputFailure) throw inputFailure;
  for (let i = 0; i < exitCodeTries && !signal.aborted; i++) {
    const exitCode = await session.exitCode();
    if (exitCode !== undefined) {
      await write({ $case: 'exit', value: { exitCode } });
      return;
    }
    await delay(exitCodePollMs, undefined, { signal }).catch(() => undefined);
  }
  // A TTY whose stdin closed: Docker closes the output while the program goes on.
  if (!signal.aborted) logger.info(`${session.what} output closed while the program runs`);
}
