import { dial } from '@flotilla/grpc';
import { EngineAgentServiceClient, type WatchResponse } from '@flotilla/proto/agent';
import { startNodeService, StreamRecorder, testTls, type ServiceProcess, type TestEngine } from '@flotilla/testing';
import type { ClientReadableStream } from '@grpc/grpc-js';

export interface AgentProcess {
  process: ServiceProcess;
  address: string;
  client: EngineAgentServiceClient;
  close(): Promise<void>;
}

/** Runs the built engine-agent as its own process beside a real engine. */
export async function startAgentProcess(engine: TestEngine, listen = '127.0.0.1:0', extra: string[] = []): Promise<AgentProcess> {
  const service = await startNodeService({
    name: `agent-${engine.name}`,
    script: 'apps/engine-agent/dist/main.js',
    args: ['--docker-host', engine.dockerHost, '--listen', listen, '--heartbeat-interval', '200ms', '--log-level', 'debug', ...extra],
  });
  // Only a manager may call an agent.
  const client = dial(EngineAgentServiceClient, service.address, { defaultDeadlineMs: 60_000, tls: testTls('manager') });
  return {
    process: service.process,
    address: service.address,
    client,
    async close() {
      client.close();
      await service.process.stop();
    },
  };
}

type Message = NonNullable<WatchResponse['message']>;
type Value<C extends Message['$case']> = Extract<Message, { $case: C }>['value'];

/** A Watch stream read into memory, with waits by message kind. */
export class WatchRecorder extends StreamRecorder<WatchResponse> {
  constructor(stream: ClientReadableStream<WatchResponse>) {
    super(stream);
  }

  get responses(): WatchResponse[] {
    return this.items;
  }

  get messages(): Message[] {
    return this.items.map((r) => r.message).filter((m): m is Message => m !== undefined);
  }

  /** Waits for a message of a kind that matches, among the messages after index `from`. */
  async next<C extends Message['$case']>(kind: C, match: (value: Value<C>) => boolean = () => true, from = 0, timeoutMs = 30_000): Promise<Value<C>> {
    const found = await this.nextMatching((r) => r.message?.$case === kind && match(r.message.value as Value<C>), `a ${kind} message on the Watch stream`, this.responseIndex(from), timeoutMs);
    return found.message!.value as Value<C>;
  }

  /** Index into `items` of the `from`-th message (messages skip responses without one). */
  private responseIndex(from: number): number {
    let seen = 0;
    for (let i = 0; i < this.items.length; i++) {
      if (seen === from) return i;
      if (this.items[i].message) seen++;
    }
    return this.items.length;
  }
}
