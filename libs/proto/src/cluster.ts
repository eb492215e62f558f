// flotilla.cluster.v1: the messages, client and service definition of proto/flotilla/cluster/v1.
import * as path from 'node:path';

export * from './gen/flotilla/cluster/v1/cluster';

/** The full type name a PlacementExplanation travels under as a google.rpc.Status detail. */
export const placementExplanationType = 'flotilla.cluster.v1.PlacementExplanation';

/** The descriptor set of this service's proto files and their imports, for server reflection. */
export const descriptorSetPath = path.join(__dirname, '..', 'descriptor', 'cluster.binpb');
