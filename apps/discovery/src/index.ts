export * from './config';
export * from './discovery';
export * from './push/manager-pusher';
export * from './service/discovery-service';
export * from './state/state-feed';
