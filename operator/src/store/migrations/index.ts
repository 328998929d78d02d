export { MIGRATIONS, UNIQUE_KEYS, migrateUp, migrationStatus, probesAreTimeSeries } from './migrations.js';
export type { Migration, MigrationContext, MigrationRecord, MigrationStatus } from './migrations.js';
