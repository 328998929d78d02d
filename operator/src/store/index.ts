// The operator's MongoDB history store. Typical use by the host:
//   const store = await HistoryStore.connect({ uri, buffer: { spillDir } }, { registry, logger });
//   await store.writeSamples([...]); await store.writeRollups([...]);
//   const page = await store.queryEvents({ namespace, fleet });
//   await store.close();
export { HistoryStore, type StoreDeps, type StoreHealth } from './store.js';
export { StoreConfigSchema, StoreConfigError, parseStoreConfig, redactUri, type StoreConfig, type StoreConfigInput } from './config.js';
export { StoreUnavailableError, StoreUriError } from './connection.js';
export type { FeatureFallback, FeatureReport, ServerFeatures } from './features.js';
export { collectionNames, type CollectionNames } from './collections.js';
export { MIGRATIONS, migrateUp, migrationStatus, type MigrationStatus } from './migrations/index.js';
export {
  StoreQueryError,
  type EventsPage,
  type EventsQuery,
  type FleetHistory,
  type FleetHistoryQuery,
  type HistoryPoint,
  type ShareStats,
  type ShareStatsQuery,
} from './queries.js';
export {
  EVENT_SCOPES,
  EVENT_TYPES,
  EventDocSchema,
  ProbeDocSchema,
  RollupDocSchema,
  SampleDocSchema,
  ShareDocSchema,
  StoreValidationError,
  type EventDoc,
  type EventScope,
  type EventInput,
  type EventResolution,
  type ProbeDoc,
  type RollupDoc,
  type SampleDoc,
  type ShareDoc,
} from './schemas.js';
export { SPILL_FILE } from './buffer.js';
export { storeReadiness } from './readiness.js';
export {
  MemoryAuditSink,
  NOOP_AUDIT_SINK,
  StoreAuditSink,
  redactText,
  type AuditEventType,
  type AuditRecord,
  type AuditSink,
  type AuditStore,
  type ProbeRecord,
} from './audit.js';
