// flotilla.discovery.v1: the messages, client and service definition of proto/flotilla/discovery/v1.
import * as path from 'node:path';

export * from './gen/flotilla/discovery/v1/discovery';

/** The descriptor set of this service's proto files and their imports, for server reflection. */
export const descriptorSetPath = path.join(__dirname, '..', 'descriptor', 'discovery.binpb');
