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
