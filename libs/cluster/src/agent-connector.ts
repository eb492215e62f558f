import type { WatchResponse } from '@flotilla/proto';

/** What the cluster hears from one engine-agent's Watch stream. */
export interface AgentStreamListener {
  message(message: WatchResponse): void;
  /** Called once, when the stream ends for any reason other than `close()`. */
  end(error: Error | undefined): void;
}

export interface AgentStream {
  /** Cancels the stream; the listener hears nothing more. */
  close(): void;
}

/**
 * How the cluster reaches engine-agents: the app dials gRPC, unit tests use fake agents. One
 * connection per address, reused by every stream to it and released by `release`.
 */
export interface AgentConnector {
  watch(address: string, listener: AgentStreamListener): AgentStream;
  /** Closes the connection to an address the cluster no longer uses. */
  release(address: string): void;
}
