// flotilla.version.v1: the version service every Flotilla server serves (proto/flotilla/version/v1).
export * from './gen/flotilla/version/v1/version';
