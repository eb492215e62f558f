import { drained, serverStream, unary, type Logger, type ServiceRegistration } from '@flotilla/grpc';
import { DiscoveryServiceService, type DiscoveryServiceServer, type DiscoveryState, type WatchEntriesRequest, type WatchEntriesResponse } from '@flotilla/proto/discovery';
import type { StateFeed } from '../state/state-feed';

export interface DiscoveryServiceOptions {
  /** The whole state as it is now. */
  state: () => DiscoveryState;
  feed: StateFeed;
  logger: Logger;
}

/** flotilla.discovery.v1.DiscoveryService: what discovery sees, for operators and other systems. */
export function createDiscoveryService(options: DiscoveryServiceOptions): ServiceRegistration {
  const { state, feed, logger } = options;
  const implementation: DiscoveryServiceServer = {
    listEntries: unary(async () => ({ state: state() })),

    watchEntries: serverStream<WatchEntriesRequest, WatchEntriesResponse>(async (_request, call, signal) => {
      logger.debug('entries watcher connected', { peer: call.getPeer() });
      try {
        let sent = -1;
        while (!signal.aborted) {
          if (feed.version === sent) {
            await feed.next(signal);
            continue;
          }
          sent = feed.version;
          if (!call.write({ state: state() })) await drained(call, signal);
        }
      } finally {
        logger.debug('entries watcher gone', { peer: call.getPeer() });
      }
    }),
  };
  // What discovery found is read by operators and readers; nothing here changes anything.
  return { name: 'flotilla.discovery.v1.DiscoveryService', definition: DiscoveryServiceService, implementation, access: { listEntries: ['operator', 'reader'], watchEntries: ['operator', 'reader'] } };
}
