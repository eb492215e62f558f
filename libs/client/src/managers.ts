import { connectivityState } from '@grpc/grpc-js';
import { dial, type DialOptions } from '@flotilla/grpc';
import { ClusterServiceClient } from '@flotilla/proto/cluster';
import { cancelledByCaller } from './failures';
import type { ResolvedOptions } from './options';

/** One manager address and its channel, dialled on first use and kept until close(). */
export class ManagerChannel {
  private client: ClusterServiceClient | undefined;

  constructor(
    readonly address: string,
    private readonly dialOptions: DialOptions,
  ) {}

  /** The generated client on this manager's channel (dialled now if it was not). */
  get raw(): ClusterServiceClient {
    this.client ??= dial(ClusterServiceClient, this.address, this.dialOptions);
    return this.client;
  }

  /**
   * Waits until the channel is connected, or has failed to connect (a call then fails at once,
   * with grpc-js's reason, and nothing is sent), or `until` passes (false). Starts connecting an
   * idle channel. A call on a channel still connecting would wait for the connection as long as
   * its deadline allows; this is what lets a call move on to the next manager in time.
   */
  async settle(until: number, signal: AbortSignal | undefined): Promise<boolean> {
    const channel = this.raw.getChannel();
    for (;;) {
      if (signal?.aborted) throw cancelledByCaller();
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY || state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) return true;
      if (Date.now() >= until) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        signal?.addEventListener('abort', done, { once: true });
        // Called on the next state change, or at `until`; at most one pending watch per call.
        channel.watchConnectivityState(state, until, done);
      });
    }
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}

/** The managers of a client, in the order a call tries them: the one that answered last first. */
export class ManagerPool {
  readonly channels: ManagerChannel[];
  private preferred = 0;
  private answered = false;

  constructor(options: ResolvedOptions) {
    const dialOptions: DialOptions = {
      tls: options.tls,
      keepalive: options.keepalive,
      defaultDeadlineMs: options.deadlineMs,
      channelOptions: options.channelOptions,
      requestId: options.requestId,
    };
    this.channels = options.managers.map((address) => new ManagerChannel(address, dialOptions));
  }

  /** Every manager once, starting with the preferred one. */
  inOrder(): ManagerChannel[] {
    const n = this.channels.length;
    return Array.from({ length: n }, (_, i) => this.channels[(this.preferred + i) % n]);
  }

  /** The manager answered a call: later calls go to it first. */
  answeredBy(channel: ManagerChannel): void {
    this.preferred = this.channels.indexOf(channel);
    this.answered = true;
  }

  /** The connection to the manager broke, or it answered UNAVAILABLE: later calls try the next one first. */
  lost(channel: ManagerChannel): void {
    if (this.channels[this.preferred] === channel) this.preferred = (this.preferred + 1) % this.channels.length;
  }

  /** The address of the manager that answered last; undefined before any answer. */
  get active(): string | undefined {
    return this.answered ? this.channels[this.preferred].address : undefined;
  }

  get addresses(): string[] {
    return this.channels.map((c) => c.address);
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }
}
