#!/usr/bin/env node
// `migrate up|status` for the history store:
//   node dist/operator/src/store/cli.js migrate status --uri mongodb://127.0.0.1:27017 [--db minefleet] [--prefix mf_]
// The URI may also come from MONGODB_URI. Exit codes: 0 ok, 1 failure, 2 usage error.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseStoreConfig, redactUri } from './config.js';
import { createClient, errorText } from './connection.js';
import { detectFeatures } from './features.js';
import { migrateUp, migrationStatus } from './migrations/index.js';

const USAGE = 'usage: cli.js migrate up|status [--uri URI] [--db NAME] [--prefix PREFIX] [--json]';

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        uri: { type: 'string' },
        db: { type: 'string' },
        prefix: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    console.error(`${errorText(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, action] = positionals;
  if (command !== 'migrate' || (action !== 'up' && action !== 'status') || positionals.length !== 2) {
    console.error(`unknown command ${JSON.stringify(positionals.join(' '))}\n${USAGE}`);
    return 2;
  }
  const uri = values.uri ?? process.env.MONGODB_URI;
  if (!uri) {
    console.error(`no MongoDB URI: pass --uri or set MONGODB_URI\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = parseStoreConfig({
      uri,
      ...(values.db ? { dbName: values.db } : {}),
      ...(values.prefix !== undefined ? { collectionPrefix: values.prefix } : {}),
      buffer: { spillDir: '/nonexistent-unused-by-migrate' },
    });
  } catch (err) {
    console.error(errorText(err));
    return 2;
  }
  const logger = pino({ level: values.json ? 'silent' : 'warn' }, pino.destination(2));
  let client;
  try {
    client = createClient(config);
  } catch (err) {
    console.error(errorText(err));
    return 1;
  }
  try {
    await client.connect();
    const db = client.db(config.dbName);
    if (action === 'up') {
      const features = await detectFeatures(db, config.collectionPrefix, logger);
      const applied = await migrateUp({ db, config, features: features.features });
      if (values.json) console.log(JSON.stringify({ applied, fallbacks: features.fallbacks }));
      else if (applied.length === 0) console.log('up to date: no pending migrations');
      else for (const m of applied) console.log(`applied ${m.version} ${m.name}${m.notes?.length ? `: ${m.notes.join('; ')}` : ''}`);
    } else {
      const status = await migrationStatus(db, config.collectionPrefix);
      if (values.json) console.log(JSON.stringify(status));
      else
        for (const s of status)
          console.log(`${String(s.version).padStart(3)} ${s.name.padEnd(32)} ${s.applied ? `applied ${s.appliedAt?.toISOString()}` : 'pending'}`);
    }
    return 0;
  } catch (err) {
    console.error(`migrate ${action} against ${redactUri(uri)} failed: ${errorText(err)}`);
    return 1;
  } finally {
    await client.close().catch(() => undefined);
  }
}

process.exitCode = await main(process.argv.slice(2));
