import { silentLogger, type Logger } from '@flotilla/grpc';
import { NotFoundError } from '@flotilla/errors';
import { checkImageReference, checkNewImageTag } from '@flotilla/policy';
import type { Image } from '@flotilla/proto';
import type { ClusterImage, ImageResult } from '@flotilla/proto/cluster';
import type { Clock } from '@flotilla/time';
import type { AgentConnector } from './agent-connector';
import type { Cluster } from './cluster';
import type { Engine } from './engine';
import { engineRef, engineStatusOf } from './engine-view';
import { imageListed } from './image-match';
import { labelsMatch } from './label-filter';
import { byAddress, failure } from './per-engine';
import { StreamWaits } from './stream-waits';

export interface ClusterImagesOptions {
  cluster: Cluster;
  connector: AgentConnector;
  clock: Clock;
  logger?: Logger;
  /** How long a remove or tag waits for each engine's stream to show it before answering `unsettled`. */
  settleTimeoutMs?: number;
}

export interface ImageFilter {
  engines: string[];
  references: string[];
  labels: Record<string, string>;
}

const byId = (a: Image, b: Image) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Images across the cluster. Each engine holds its own (the same image ID on two engines is two
 * copies): the model is the engines' streams, which carry every image and its Docker events;
 * changes go to the engines' agents, and each answers once its stream shows the effect.
 */
export class ClusterImages {
  private readonly logger: Logger;
  private readonly waits: StreamWaits;

  constructor(private readonly o: ClusterImagesOptions) {
    this.logger = o.logger ?? silentLogger;
    this.waits = new StreamWaits(o.clock, o.settleTimeoutMs ?? 5_000);
  }

  /** Ends the waits for engines' streams (they answer `unsettled`). */
  shutdown(): void {
    this.waits.shutdown();
  }

  clusterImage(engine: Engine, image: Image): ClusterImage {
    return { image, engine: engineRef(engine), engineStatus: engineStatusOf(engine.status) };
  }

  /** The images of validated engines that pass the filter, by engine address then image ID. */
  list(filter: ImageFilter): ClusterImage[] {
    const named = filter.engines.map((e, i) => this.o.cluster.getEngine(e, `engines[${i}]`));
    const engines = (named.length ? [...new Set(named)] : [...this.o.cluster.all()]).filter((e) => e.status !== 'pending').sort(byAddress);
    const labels = Object.entries(filter.labels);
    const out: ClusterImage[] = [];
    for (const engine of engines) {
      const images = [...engine.images.values()].filter((i) => (!filter.references.length || filter.references.some((r) => imageListed(i, r))) && labelsMatch(i.labels, labels));
      for (const image of images.sort(byId)) out.push(this.clusterImage(engine, image));
    }
    return out;
  }

  /** The image on the engine named, else on the first healthy engine holding it (else the first holding it, as last known). */
  async inspect(reference: string, engineRefText: string): Promise<{ image: ClusterImage; rawJson: string }> {
    const ref = checkImageReference('image', reference);
    const holders = engineRefText ? [this.o.cluster.getEngine(engineRefText, 'engine')] : this.holders(ref);
    const engine = holders.find((e) => e.status === 'healthy') ?? holders[0];
    if (!engine) throw this.notFound(ref, engineRefText);
    const known = engine.findImage(ref);
    if (engine.status !== 'healthy') {
      if (!known) throw this.notFound(ref, engine.address);
      return { image: this.clusterImage(engine, known), rawJson: '' };
    }
    try {
      const answer = await this.o.connector.operations(engine.address).inspectImage(ref);
      const image = answer.image ?? known;
      if (!image) throw this.notFound(ref, engine.address);
      return { image: this.clusterImage(engine, image), rawJson: answer.rawJson };
    } catch (err) {
      if (err instanceof NotFoundError) throw this.notFound(ref, engine.address, err);
      throw err;
    }
  }

  /** `docker rmi` on the engine named, else on every engine holding the image; one result per engine. */
  async remove(reference: string, engineRefText: string, force: boolean, noPrune: boolean): Promise<ImageResult[]> {
    const ref = checkImageReference('image', reference);
    const engines = this.targets(ref, engineRefText);
    return this.onEach(engines, Boolean(engineRefText), 'image remove', ref, async (engine) => {
      const answer = await this.o.connector.operations(engine.address).removeImage(ref, force, noPrune);
      const unsettled = !(await this.waits.wait(engine.observeImages(() => engine.findImage(ref) === undefined)));
      return { untagged: answer.untagged, deleted: answer.deleted, unsettled };
    });
  }

  /** `docker tag` on the engine named, else on every engine holding the image; one result per engine. */
  async tag(reference: string, newTag: string, engineRefText: string): Promise<ImageResult[]> {
    const ref = checkImageReference('image', reference);
    const { repo, tag } = checkNewImageTag('tag', newTag);
    const target = `${repo}:${tag}`;
    const engines = this.targets(ref, engineRefText);
    return this.onEach(engines, Boolean(engineRefText), 'image tag', ref, async (engine) => {
      await this.o.connector.operations(engine.address).tagImage(ref, target);
      const unsettled = !(await this.waits.wait(engine.observeImages(() => engine.findImage(target) !== undefined)));
      return { untagged: [], deleted: [], unsettled };
    });
  }

  /** The engine named (NOT_FOUND when it lacks the image), else every engine holding it. */
  private targets(ref: string, engineRefText: string): Engine[] {
    if (engineRefText) {
      const engine = this.o.cluster.getEngine(engineRefText, 'engine');
      // A healthy engine is asked anyway: its Docker may know a reference the stream has not shown.
      if (engine.status !== 'healthy' && !engine.findImage(ref)) throw this.notFound(ref, engine.address);
      return [engine];
    }
    const holders = this.holders(ref);
    if (!holders.length) throw this.notFound(ref, '');
    return holders;
  }

  /** Runs `work` on every engine at once; an engine that fails (or is not healthy) has its result's `error` set. */
  private onEach(engines: Engine[], named: boolean, what: string, ref: string, work: (engine: Engine) => Promise<Omit<ImageResult, 'engine' | 'error'>>): Promise<ImageResult[]> {
    return Promise.all(
      engines.map(async (engine): Promise<ImageResult> => {
        const result = { engine: engineRef(engine), untagged: [], deleted: [], error: '', unsettled: false };
        if (engine.status !== 'healthy') return { ...result, error: `FAILED_PRECONDITION: engine ${engine.address} is ${engine.status}` };
        try {
          const done = await work(engine);
          this.logger.info(`${what} done`, { image: ref, engine: engine.address, unsettled: done.unsettled });
          return { ...result, ...done };
        } catch (err) {
          // One engine, and it has no such image: the call's own answer.
          if (named && err instanceof NotFoundError) throw this.notFound(ref, engine.address, err);
          this.logger.info(`${what} failed`, { image: ref, engine: engine.address, error: failure(err) });
          return { ...result, error: failure(err) };
        }
      }),
    );
  }

  /** Validated engines whose image list resolves the reference, by address. */
  private holders(ref: string): Engine[] {
    return [...this.o.cluster.all()].filter((e) => e.status !== 'pending' && e.findImage(ref) !== undefined).sort(byAddress);
  }

  private notFound(ref: string, engineAddress: string, cause?: unknown): NotFoundError {
    const where = engineAddress ? `on engine ${engineAddress}` : 'in the cluster';
    return new NotFoundError(`no image ${JSON.stringify(ref)} ${where}`, cause === undefined ? {} : { cause });
  }
}
