import * as path from 'node:path';
import { dial } from '@flotilla/grpc';
import { EngineAgentServiceClient, type WatchResponse } from '@flotilla/proto';
import { spawnService, waitFor, type ServiceProcess, type TestEngine } from '@flotilla/testing';
import type { ClientReadableStream } from '@grpc/grpc-js';

export const agentMain = path.join(__dirname, '..', 'dist', 'main.js');

export interface AgentProcess {
  process: ServiceProcess;
  address: string;
  client: EngineAgentServiceClient;
  close(): Promise<void>;
}

/** Runs the built engine-agent as its own process beside a real engine, on a free port. */
export async function startAgentProcess(engine: TestEngine, extraArgs: string[] = []): Promise<AgentProcess> {
  const proc = spawnService({
    name: `agent-${engine.name}`,
    command: process.execPath,
    args: [agentMain, '--docker-host', engine.dockerHost, '--listen', '127.0.0.1:0', '--heartbeat-interval', '200ms', '--log-level', 'debug', ...extraArgs],
  });
  const line = await proc.waitForLine(/"msg":"listening"/, 30_000);
  const port = (JSON.parse(line) as { port: number }).port;
  const address = `127.0.0.1:${port}`;
  const client = dial(EngineAgentServiceClient, address, { defaultDeadlineMs: 60_000 });
  return {
    process: proc,
    address,
    client,
    async close() {
      client.close();
      await proc.stop();
    },
  };
}

type Message = NonNullable<WatchResponse['message']>;

/** Reads a Watch stream into memory so tests can wait for what they expect. */
export class WatchRecorder {
  readonly responses: WatchResponse[] = [];
  error: Error | undefined;
  ended = false;

  constructor(readonly stream: ClientReadableStream<WatchResponse>) {
    stream.on('data', (r: WatchResponse) => this.responses.push(r));
    stream.on('error', (err: Error) => (this.error = err));
    stream.on('end', () => (this.ended = true));
  }

  get messages(): Message[] {
    return this.responses.map((r) => r.message).filter((m): m is Message => m !== undefined);
  }

  /** Waits for a message that matches, looking only at messages after index `from`. */
  async next<C extends Message['$case']>(kind: C, match: (value: Extract<Message, { $case: C }>['value']) => boolean = () => true, from = 0, timeoutMs = 30_000) {
    return waitFor(
      () => {
        if (this.error) throw this.error;
        const found = this.messages.slice(from).find((m) => m.$case === kind && match(m.value as Extract<Message, { $case: C }>['value']));
        return found ? (found.value as Extract<Message, { $case: C }>['value']) : undefined;
      },
      { timeoutMs, what: `a ${kind} message on the Watch stream` },
    );
  }

  cancel(): void {
    this.stream.cancel();
  }
}
