import { silentLogger, type Logger } from '@flotilla/grpc';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@flotilla/errors';
import type { Volume } from '@flotilla/proto';
import type { ClusterVolume, VolumeResult } from '@flotilla/proto/cluster';
import type { Clock } from '@flotilla/time';
import type { AgentConnector } from './agent-connector';
import type { Cluster } from './cluster';
import type { Engine } from './engine';
import { labelsMatch } from './label-filter';
import { byAddress, failure } from './per-engine';
import { StreamWaits } from './stream-waits';
import { engineRef, engineStatusOf } from './engine-view';
import { checkVolumeName } from '@flotilla/policy';

export interface ClusterVolumesOptions {
  cluster: Cluster;
  connector: AgentConnector;
  clock: Clock;
  logger?: Logger;
  /** How long a create or remove waits for each engine's stream to show it before answering `unsettled`. */
  settleTimeoutMs?: number;
}

export interface VolumeFilter {
  engines: string[];
  names: string[];
  labels: Record<string, string>;
}

export interface CreateVolume {
  name: string;
  engines: string[];
  allEngines: boolean;
  driver: string;
  labels: Record<string, string>;
  driverOpts: Record<string, string>;
}

const byName = (a: Volume, b: Volume) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Named volumes across the cluster. Each engine holds volumes of its own (the same name on two
 * engines is two volumes): the model is the engines' streams, which carry every volume and its
 * Docker events; changes go to the engines' agents, and each answers once its stream shows the
 * effect (read-your-writes, so a container placed right after by the "volume" filter finds it).
 */
export class ClusterVolumes {
  private readonly logger: Logger;
  private readonly waits: StreamWaits;

  constructor(private readonly o: ClusterVolumesOptions) {
    this.logger = o.logger ?? silentLogger;
    this.waits = new StreamWaits(o.clock, o.settleTimeoutMs ?? 5_000);
  }

  /** Ends the waits for engines' streams (they answer `unsettled`). */
  shutdown(): void {
    this.waits.shutdown();
  }

  clusterVolume(engine: Engine, volume: Volume): ClusterVolume {
    return { volume, engine: engineRef(engine), engineStatus: engineStatusOf(engine.status) };
  }

  /** The volumes of validated engines that pass the filter, by engine address then name. */
  list(filter: VolumeFilter): ClusterVolume[] {
    const named = filter.engines.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`));
    const engines = (named.length ? [...new Set(named)] : [...this.o.cluster.all()]).filter((e) => e.status !== 'pending').sort(byAddress);
    const labels = Object.entries(filter.labels);
    const out: ClusterVolume[] = [];
    for (const engine of engines) {
      const volumes = [...engine.volumes.values()].filter(
        (v) =>
          (!filter.names.length || filter.names.some((n) => v.name.includes(n))) &&
          labelsMatch(v.labels, labels),
      );
      for (const volume of volumes.sort(byName)) out.push(this.clusterVolume(engine, volume));
    }
    return out;
  }

  /** Creates the volume on every engine asked for, all at once; one result per engine, by address. */
  async create(request: CreateVolume): Promise<VolumeResult[]> {
    const name = checkVolumeName('name', request.name);
    const driver = request.driver.trim() || 'local';
    if (driver !== 'local') throw InvalidArgumentError.field('driver', request.driver, 'only the "local" driver is allowed');
    const options = Object.keys(request.driverOpts);
    if (options.length) throw new PermissionDeniedError(`driver_opts ${JSON.stringify(options.slice(0, 5))}: volume driver options are not allowed (they can mount host paths)`);
    if (request.allEngines === (request.engines.length > 0)) {
      throw InvalidArgumentError.field('engines', request.engines.slice(0, 3), request.allEngines ? 'give engines or all_engines, not both' : 'give the engines to create the volume on, or all_engines');
    }
    const engines = request.allEngines ? [...this.o.cluster.all()].filter((e) => e.status === 'healthy') : [...new Set(request.engines.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`)))];
    if (!engines.length) throw new FailedPreconditionError(`no healthy engine to create volume ${JSON.stringify(name)} on`);
    engines.sort(byAddress);
    return Promise.all(
      engines.map(async (engine): Promise<VolumeResult> => {
        const ref = engineRef(engine);
        if (engine.status !== 'healthy') return { engine: ref, volume: undefined, error: `FAILED_PRECONDITION: engine ${engine.address} is ${engine.status}`, unsettled: false };
        try {
          const answer = await this.o.connector.operations(engine.address).createVolume({ name, driver, labels: { ...request.labels }, driverOpts: {} });
          const unsettled = !(await this.waits.wait(engine.observeVolume(name, true)));
          this.logger.info('volume created', { name, engine: engine.address, unsettled });
          // The stream's copy, checked as everything from an agent's stream is; the answer's only when unsettled.
          return { engine: ref, volume: engine.volumes.get(name) ?? answer.volume, error: '', unsettled };
        } catch (err) {
          this.logger.info('volume create failed', { name, engine: engine.address, error: failure(err) });
          return { engine: ref, volume: undefined, error: failure(err), unsettled: false };
        }
      }),
    );
  }

  /** The volume on the engine named, else on the one engine known to hold it. */
  async inspect(name: string, engineRefText: string): Promise<{ volume: ClusterVolume; rawJson: string }> {
    checkVolumeName('name', name);
    const engine = this.holder(name, engineRefText);
    const known = engine.volumes.get(name);
    if (engine.status !== 'healthy') {
      if (!known) throw new NotFoundError(`no volume ${JSON.stringify(name)} on engine ${engine.address}`);
      return { volume: this.clusterVolume(engine, known), rawJson: '' };
    }
    try {
      const answer = await this.o.connector.operations(engine.address).inspectVolume(name);
      return { volume: this.clusterVolume(engine, answer.volume ?? known ?? { name, driver: '', mountpoint: '', labels: {} }), rawJson: answer.rawJson };
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`no volume ${JSON.stringify(name)} on engine ${engine.address}`, { cause: err });
      throw err;
    }
  }

  /** Removes the volume from the engine named, else from every engine known to hold it. */
  async remove(name: string, engineRefText: string, force: boolean): Promise<VolumeResult[]> {
    checkVolumeName('name', name);
    const engines = engineRefText ? [this.o.cluster.getEngine(engineRefText, 'engine')] : this.holders(name);
    if (!engines.length) throw new NotFoundError(`no volume ${JSON.stringify(name)} in the cluster`);
    return Promise.all(
      engines.map(async (engine): Promise<VolumeResult> => {
        const ref = engineRef(engine);
        if (engine.status !== 'healthy') return { engine: ref, volume: undefined, error: `FAILED_PRECONDITION: engine ${engine.address} is ${engine.status}`, unsettled: false };
        try {
          await this.o.connector.operations(engine.address).removeVolume(name, force);
        } catch (err) {
          // The one engine named, and it has no such volume: the call's own answer.
          if (engineRefText && err instanceof NotFoundError) throw new NotFoundError(`no volume ${JSON.stringify(name)} on engine ${engine.address}`, { cause: err });
          this.logger.info('volume remove failed', { name, engine: engine.address, error: failure(err) });
          return { engine: ref, volume: undefined, error: failure(err), unsettled: false };
        }
        const unsettled = !(await this.waits.wait(engine.observeVolume(name, false)));
        this.logger.info('volume removed', { name, engine: engine.address, unsettled });
        return { engine: ref, volume: undefined, error: '', unsettled };
      }),
    );
  }

  /** Validated engines that hold the volume, by address. */
  private holders(name: string): Engine[] {
    return [...this.o.cluster.all()].filter((e) => e.status !== 'pending' && e.volumes.has(name)).sort(byAddress);
  }

  private holder(name: string, engineRefText: string): Engine {
    if (engineRefText) return this.o.cluster.getEngine(engineRefText, 'engine');
    const holders = this.holders(name);
    if (!holders.length) throw new NotFoundError(`no volume ${JSON.stringify(name)} in the cluster`);
    if (holders.length > 1) {
      const shown = holders.slice(0, 10).map((e) => e.address);
      throw new FailedPreconditionError(`volume ${JSON.stringify(name)} is on ${holders.length} engines (${shown.join(', ')}${holders.length > shown.length ? ', …' : ''}): name the engine`);
    }
    return holders[0];
  }

}
