// flotilla.agent.v1: the messages, client and service definition of proto/flotilla/agent/v1.
import * as path from 'node:path';

export * from './gen/flotilla/agent/v1/agent';

/** The descriptor set of this service's proto files and their imports, for server reflection. */
export const descriptorSetPath = path.join(__dirname, '..', 'descriptor', 'agent.binpb');
