import { testTls } from '@flotilla/testing';
import { runCli } from '../src/cli';
import type { Io, Output } from '../src/io';

/** An output stream that keeps what was written. */
export function recordedOutput(): Output & { text: string } {
  const out = {
    text: '',
    write(chunk: string | Uint8Array) {
      out.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    },
    isTTY: false,
    columns: undefined,
    flush: async () => undefined,
  };
  return out;
}

/** The CLI in this process with recorded output; `env` is all it sees of the environment. */
export async function runCliInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const io: Io & { stdout: ReturnType<typeof recordedOutput>; stderr: ReturnType<typeof recordedOutput> } = { stdout: recordedOutput(), stderr: recordedOutput(), env, now: () => Date.now() };
  const code = await runCli(args, io);
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

/** The CLI in this process as an operator of the test CA, against the manager on `managerPort`, with its settings in `home`. */
export function runAsOperator(managerPort: number, home: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const tls = testTls('operator');
  return runCliInProcess(['--manager', `127.0.0.1:${managerPort}`, '--tls-ca', tls.ca, '--tls-cert', tls.cert, '--tls-key', tls.key, ...args], { XDG_CONFIG_HOME: home });
}
