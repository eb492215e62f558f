import { silentLogger, type Logger } from '@flotilla/grpc';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { checkNetworkName, checkNetworkReference, checkNetworkShape, predefinedNetworks } from '@flotilla/policy';
import type { Network } from '@flotilla/proto';
import type { ClusterNetwork, NetworkResult } from '@flotilla/proto/cluster';
import type { Clock } from '@flotilla/time';
import type { AgentConnector } from './agent-connector';
import type { Cluster } from './cluster';
import type { Engine } from './engine';
import { engineRef, engineStatusOf } from './engine-view';
import { labelsMatch } from './label-filter';
import { byAddress, failure } from './per-engine';
import { StreamWaits } from './stream-waits';

export interface ClusterNetworksOptions {
  cluster: Cluster;
  connector: AgentConnector;
  clock: Clock;
  logger?: Logger;
  /** How long a create or remove waits for each engine's stream to show it before answering `unsettled`. */
  settleTimeoutMs?: number;
}

export interface NetworkFilter {
  engines: string[];
  names: string[];
  labels: Record<string, string>;
}

export interface CreateNetwork {
  name: string;
  engines: string[];
  allEngines: boolean;
  driver: string;
  labels: Record<string, string>;
  internal: boolean;
  subnet: string;
  gateway: string;
}

const byName = (a: Network, b: Network) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1);

/** A healthy engine's result, or the refusal of one that is not healthy. */
function unhealthy(engine: Engine): NetworkResult | undefined {
  return engine.status === 'healthy' ? undefined : { engine: engineRef(engine), network: undefined, error: `FAILED_PRECONDITION: engine ${engine.address} is ${engine.status}`, unsettled: false };
}

/**
 * User-defined networks across the cluster, as ClusterVolumes keeps volumes: each engine holds
 * networks of its own (the same name on two engines is two networks), the model is the engines'
 * streams, and each change answers once the engine's stream shows it, so a container placed right
 * after by the "network" filter finds it.
 */
export class ClusterNetworks {
  private readonly logger: Logger;
  private readonly waits: StreamWaits;

  constructor(private readonly o: ClusterNetworksOptions) {
    this.logger = o.logger ?? silentLogger;
    this.waits = new StreamWaits(o.clock, o.settleTimeoutMs ?? 5_000);
  }

  shutdown(): void {
    this.waits.shutdown();
  }

  clusterNetwork(engine: Engine, network: Network): ClusterNetwork {
    return { network, engine: engineRef(engine), engineStatus: engineStatusOf(engine.status) };
  }

  /** The networks of validated engines that pass the filter, by engine address then name. */
  list(filter: NetworkFilter): ClusterNetwork[] {
    const named = filter.engines.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`));
    const engines = (named.length ? [...new Set(named)] : [...this.o.cluster.all()]).filter((e) => e.status !== 'pending').sort(byAddress);
    const labels = Object.entries(filter.labels);
    const out: ClusterNetwork[] = [];
    for (const engine of engines) {
      const networks = [...engine.networks.values()].filter((n) => (!filter.names.length || filter.names.some((name) => n.name.includes(name))) && labelsMatch(n.labels, labels));
      for (const network of networks.sort(byName)) out.push(this.clusterNetwork(engine, network));
    }
    return out;
  }

  /** Creates the network on every engine asked for, all at once; one result per engine, by address. */
  async create(request: CreateNetwork): Promise<NetworkResult[]> {
    const name = checkNetworkName('name', request.name);
    const shape = checkNetworkShape(request);
    if (request.allEngines === (request.engines.length > 0)) {
      throw InvalidArgumentError.field('engines', request.engines.slice(0, 3), request.allEngines ? 'give engines or all_engines, not both' : 'give the engines to create the network on, or all_engines');
    }
    const engines = request.allEngines ? [...this.o.cluster.all()].filter((e) => e.status === 'healthy') : [...new Set(request.engines.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`)))];
    if (!engines.length) throw new FailedPreconditionError(`no healthy engine to create network ${JSON.stringify(name)} on`);
    return Promise.all(
      engines.sort(byAddress).map(async (engine): Promise<NetworkResult> => {
        const refused = unhealthy(engine);
        if (refused) return refused;
        try {
          const answer = await this.o.connector.operations(engine.address).createNetwork({ name, driver: shape.driver, labels: { ...request.labels }, internal: request.internal, subnet: shape.subnet, gateway: shape.gateway });
          const unsettled = !(await this.waits.wait(engine.observeNetwork(name, true)));
          this.logger.info('network created', { name, engine: engine.address, unsettled });
          return { engine: engineRef(engine), network: engine.findNetwork(name) ?? answer.network, error: '', unsettled };
        } catch (err) {
          this.logger.info('network create failed', { name, engine: engine.address, error: failure(err) });
          return { engine: engineRef(engine), network: undefined, error: failure(err), unsettled: false };
        }
      }),
    );
  }

  /** The network on the engine named, else on the one engine known to hold it. */
  async inspect(reference: string, engineRefText: string): Promise<{ network: ClusterNetwork; rawJson: string }> {
    checkNetworkReference('network', reference);
    const engine = this.holder(reference, engineRefText);
    const known = engine.findNetwork(reference);
    if (engine.status !== 'healthy') {
      if (!known) throw new NotFoundError(`no network ${JSON.stringify(reference)} on engine ${engine.address}`);
      return { network: this.clusterNetwork(engine, known), rawJson: '' };
    }
    try {
      const answer = await this.o.connector.operations(engine.address).inspectNetwork(known?.id ?? reference);
      return { network: this.clusterNetwork(engine, answer.network ?? known!), rawJson: answer.rawJson };
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`no network ${JSON.stringify(reference)} on engine ${engine.address}`, { cause: err });
      throw err;
    }
  }

  /** Removes the network from the engine named, else from every engine known to hold it. */
  async remove(reference: string, engineRefText: string): Promise<NetworkResult[]> {
    checkNetworkReference('network', reference);
    if (predefinedNetworks.includes(reference)) throw InvalidArgumentError.field('network', reference, `${predefinedNetworks.join(', ')} are Docker's own networks on every engine`);
    const engines = engineRefText ? [this.o.cluster.getEngine(engineRefText, 'engine')] : this.holders(reference);
    if (!engines.length) throw new NotFoundError(`no network ${JSON.stringify(reference)} in the cluster`);
    return Promise.all(
      engines.map(async (engine): Promise<NetworkResult> => {
        const refused = unhealthy(engine);
        if (refused) return refused;
        // By ID where the engine's stream knows it: a name and an ID prefix may name different networks.
        const target = engine.findNetwork(reference)?.id ?? reference;
        try {
          await this.o.connector.operations(engine.address).removeNetwork(target);
        } catch (err) {
          if (engineRefText && err instanceof NotFoundError) throw new NotFoundError(`no network ${JSON.stringify(reference)} on engine ${engine.address}`, { cause: err });
          this.logger.info('network remove failed', { network: reference, engine: engine.address, error: failure(err) });
          return { engine: engineRef(engine), network: undefined, error: failure(err), unsettled: false };
        }
        const unsettled = !(await this.waits.wait(engine.observeNetwork(target, false)));
        this.logger.info('network removed', { network: reference, engine: engine.address, unsettled });
        return { engine: engineRef(engine), network: undefined, error: '', unsettled };
      }),
    );
  }

  /** Validated engines that hold the network, by address. */
  private holders(reference: string): Engine[] {
    return [...this.o.cluster.all()].filter((e) => e.status !== 'pending' && e.hasNetwork(reference)).sort(byAddress);
  }

  private holder(reference: string, engineRefText: string): Engine {
    if (engineRefText) return this.o.cluster.getEngine(engineRefText, 'engine');
    const holders = this.holders(reference);
    if (!holders.length) throw new NotFoundError(`no network ${JSON.stringify(reference)} in the cluster`);
    if (holders.length > 1) {
      const shown = holders.slice(0, 10).map((e) => e.address);
      throw new FailedPreconditionError(`network ${JSON.stringify(reference)} is on ${holders.length} engines (${shown.join(', ')}${holders.length > shown.length ? ', …' : ''}): name the engine`);
    }
    return holders[0];
  }
}
