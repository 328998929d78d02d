import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** A metric already on the registry (a store reopened by the same host) is reused, not re-registered. */
function existing<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The store's Prometheus metrics, registered on the host's registry. */
export class StoreMetrics {
  readonly buffered: Gauge<'location'>;
  readonly spilled: Counter;
  readonly written: Counter<'collection'>;
  readonly failures: Counter<'collection' | 'reason'>;
  readonly dropped: Counter<'reason'>;
  readonly available: Gauge;
  readonly batchSeconds: Histogram<'collection'>;
  readonly sweptDocuments: Counter<'collection'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.buffered = existing(
      registry,
      'minefleet_store_buffered_documents',
      () =>
        new Gauge({
          name: 'minefleet_store_buffered_documents',
          help: 'Documents waiting to be written to MongoDB, by where they wait (memory or spill file).',
          labelNames: ['location'],
          registers,
        }),
    );
    this.spilled = existing(
      registry,
      'minefleet_store_spilled_documents_total',
      () =>
        new Counter({
          name: 'minefleet_store_spilled_documents_total',
          help: 'Documents appended to the on-disk spill file because the memory buffer was full or the store closed with the server down.',
          registers,
        }),
    );
    this.written = existing(
      registry,
      'minefleet_store_written_documents_total',
      () =>
        new Counter({
          name: 'minefleet_store_written_documents_total',
          help: 'Documents acknowledged by MongoDB (inserted, or found already written), by collection.',
          labelNames: ['collection'],
          registers,
        }),
    );
    this.failures = existing(
      registry,
      'minefleet_store_write_failures_total',
      () =>
        new Counter({
          name: 'minefleet_store_write_failures_total',
          help: 'Failed write attempts: transient ones are retried, permanent ones drop the document.',
          labelNames: ['collection', 'reason'],
          registers,
        }),
    );
    this.dropped = existing(
      registry,
      'minefleet_store_dropped_documents_total',
      () =>
        new Counter({
          name: 'minefleet_store_dropped_documents_total',
          help: 'Documents given up on (rejected by the server, or the spill file is full).',
          labelNames: ['reason'],
          registers,
        }),
    );
    this.available = existing(
      registry,
      'minefleet_store_available',
      () =>
        new Gauge({
          name: 'minefleet_store_available',
          help: '1 when the last contact with MongoDB succeeded, else 0.',
          registers,
        }),
    );
    this.batchSeconds = existing(
      registry,
      'minefleet_store_batch_write_duration_seconds',
      () =>
        new Histogram({
          name: 'minefleet_store_batch_write_duration_seconds',
          help: 'Duration of one bulkWrite batch.',
          labelNames: ['collection'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    );
    this.sweptDocuments = existing(
      registry,
      'minefleet_store_retention_swept_documents_total',
      () =>
        new Counter({
          name: 'minefleet_store_retention_swept_documents_total',
          help: 'Expired documents deleted by the store itself (servers without TTL indexes).',
          labelNames: ['collection'],
          registers,
        }),
    );
  }

  /**
   * Exports the known label combinations at 0 (Prometheus practice): rate() and alerts see a
   * series before the first failure or drop, and the dashboards' store panels are never empty.
   */
  initialize(collections: readonly string[]): void {
    for (const collection of collections) {
      this.written.inc({ collection }, 0);
      for (const reason of ['unavailable', 'rejected']) this.failures.inc({ collection, reason }, 0);
    }
    for (const reason of ['spill_full', 'corrupt_spill_line', 'rejected']) this.dropped.inc({ reason }, 0);
    for (const location of ['memory', 'spill']) this.buffered.inc({ location }, 0);
  }
}
