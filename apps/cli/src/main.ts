#!/usr/bin/env node
import { runCli, type Interrupts } from './cli';
import { processIo } from './io';

/**
 * The first Ctrl-C (or SIGTERM) cancels what the command is doing, streams on the manager
 * included, and the command exits 130 (143); a second one exits at once.
 */
function interrupts(): Interrupts {
  const controller = new AbortController();
  let by: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (by) process.exit(signal === 'SIGTERM' ? 143 : 130);
    by = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, by: () => by };
}

void runCli(process.argv.slice(2), processIo(), interrupts()).then((code) => {
  process.exitCode = code;
  // Everything is closed by now; should anything still hold the event loop, do not hang.
  setTimeout(() => process.exit(code), 2000).unref();
});
