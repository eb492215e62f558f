import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/*
 * One service's metrics. Each registry is its own prom-client Registry, never the process-wide
 * default one, so tests, and several services in one process, never collide on a series name.
 */

export interface MetricsRegistryOptions {
  /**
   * prom-client's standard process and Node.js series (process_resident_memory_bytes,
   * nodejs_eventloop_lag_seconds, nodejs_active_handles_total, ...). Default true.
   */
  defaultMetrics?: boolean;
}

/** Values by label, as a scrape-time reader returns them: `[labels, value]` pairs. */
export type LabelledValues<L extends string> = Iterable<readonly [Partial<Record<L, string>>, number]>;

export interface MetricConfig<L extends string> {
  /** `flotilla_...`, in base units (seconds, bytes), counters ending in `_total`. */
  name: string;
  /** What it counts, and in what unit. */
  help: string;
  labelNames?: readonly L[];
}

export class MetricsRegistry {
  /** The prom-client registry itself, for what this wrapper does not cover. */
  readonly registry = new Registry();

  constructor(options: MetricsRegistryOptions = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string = never>(config: MetricConfig<L>): Counter<L> {
    return new Counter<L>({ ...config, labelNames: config.labelNames ?? [], registers: [this.registry] });
  }

  gauge<L extends string = never>(config: MetricConfig<L>): Gauge<L> {
    return new Gauge<L>({ ...config, labelNames: config.labelNames ?? [], registers: [this.registry] });
  }

  histogram<L extends string = never>(config: MetricConfig<L> & { buckets?: number[] }): Histogram<L> {
    return new Histogram<L>({ ...config, labelNames: config.labelNames ?? [], registers: [this.registry] });
  }

  /**
   * A gauge read when it is scraped, from state kept elsewhere (the cluster, the monitor): nothing
   * to keep in step. Label sets `read` no longer returns disappear.
   */
  gaugeFrom<L extends string = never>(config: MetricConfig<L>, read: () => number | LabelledValues<L>): Gauge<L> {
    return new Gauge<L>({
      ...config,
      labelNames: config.labelNames ?? [],
      registers: [this.registry],
      collect(this: Gauge<L>) {
        const values = read();
        this.reset();
        if (typeof values === 'number') this.set(values);
        else for (const [labels, value] of values) this.set(labels, value);
      },
    });
  }

  /** A counter whose running total is kept elsewhere (a getter that only grows), read when scraped. */
  counterFrom<L extends string = never>(config: MetricConfig<L>, read: () => number | LabelledValues<L>): Counter<L> {
    return new Counter<L>({
      ...config,
      labelNames: config.labelNames ?? [],
      registers: [this.registry],
      collect(this: Counter<L>) {
        const values = read();
        this.reset();
        if (typeof values === 'number') this.inc(Math.max(0, values));
        else for (const [labels, value] of values) this.inc(labels, Math.max(0, value));
      },
    });
  }

  /** Every series in Prometheus's text format (see `contentType`). */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `scrape()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
