import type { Snapshot, WatchResponse } from '@flotilla/proto';
import type { AgentConnector, AgentStream, AgentStreamListener } from './agent-connector';

type Message = NonNullable<WatchResponse['message']>;

interface FakeStream extends AgentStream {
  address: string;
  listener: AgentStreamListener;
  closed: boolean;
  sequence: number;
}

/**
 * Engine-agents in memory, for unit tests of the cluster: each `watch` opens a stream the test
 * drives with `send` and ends with `end`; `open` counts streams not yet closed, to catch leaks.
 */
export class FakeAgents implements AgentConnector {
  readonly streams: FakeStream[] = [];
  readonly released: string[] = [];

  watch(address: string, listener: AgentStreamListener): AgentStream {
    const stream: FakeStream = {
      address,
      listener,
      closed: false,
      sequence: 0,
      close() {
        stream.closed = true;
      },
    };
    this.streams.push(stream);
    return stream;
  }

  release(address: string): void {
    this.released.push(address);
  }

  /** Streams still open, in all or to one address. */
  open(address?: string): FakeStream[] {
    return this.streams.filter((s) => !s.closed && (!address || s.address === address));
  }

  private current(address: string): FakeStream {
    const open = this.open(address);
    if (open.length !== 1) throw new Error(`expected one open stream to ${address}, found ${open.length}`);
    return open[0];
  }

  /** Sends a message on the address's open stream, numbered as the agent would. */
  send(address: string, message: Message, sequence?: number): void {
    const s = this.current(address);
    s.sequence = sequence ?? s.sequence + 1;
    s.listener.message({ sequence: String(s.sequence), message });
  }

  snapshot(address: string, snapshot: Snapshot): void {
    this.send(address, { $case: 'snapshot', value: snapshot });
  }

  /** Ends the address's open stream as a broken connection would. */
  end(address: string, error = new Error('14 UNAVAILABLE: Connection dropped')): void {
    const s = this.current(address);
    s.closed = true;
    s.listener.end(error);
  }
}

export function engineSnapshot(id: string, options: { name?: string; cpus?: number; memoryBytes?: number; labels?: Record<string, string>; containers?: Snapshot['containers'] } = {}): Snapshot {
  return {
    engine: {
      id,
      name: options.name ?? `host-${id.toLowerCase()}`,
      cpus: String(options.cpus ?? 4),
      memoryBytes: String(options.memoryBytes ?? 8 * 1024 ** 3),
      labels: { ostype: 'linux', ...options.labels },
      serverVersion: '20.10.24',
      apiVersion: '1.41',
      engineMaxApiVersion: '1.41',
      operatingSystem: 'Debian',
      kernelVersion: '6.1',
      architecture: 'x86_64',
      storageDriver: 'vfs',
      systemTime: undefined,
    },
    containers: options.containers ?? [],
    images: [],
    networks: [],
    volumes: [],
  };
}
