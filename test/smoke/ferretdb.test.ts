import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFerretDB, type FerretDB } from '../support/index.js';

describe('FerretDB (MongoDB wire protocol, SQLite backend)', () => {
  let db: FerretDB;
  let client: MongoClient;
  const dbName = `smoke_${process.pid}`;

  beforeAll(async () => {
    db = await startFerretDB();
    console.log(`ferretdb started in ${db.startupMs} ms at ${db.uri}`);
    client = new MongoClient(db.uri, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
  });

  afterAll(async () => {
    await client
      ?.db(dbName)
      .dropDatabase()
      .catch(() => undefined);
    await client?.close();
    await db?.stop();
  });

  it('inserts, finds and aggregates documents', async () => {
    const samples = client.db(dbName).collection<{ fleet: string; pod: string; hashrate: number }>('samples');
    await samples.insertMany([
      { fleet: 'a', pod: 'a-1', hashrate: 100 },
      { fleet: 'a', pod: 'a-2', hashrate: 150 },
      { fleet: 'b', pod: 'b-1', hashrate: 40 },
    ]);
    const found = await samples
      .find({ fleet: 'a' }, { projection: { _id: 0 } })
      .sort({ pod: 1 })
      .toArray();
    expect(found).toEqual([
      { fleet: 'a', pod: 'a-1', hashrate: 100 },
      { fleet: 'a', pod: 'a-2', hashrate: 150 },
    ]);
    // FerretDB v1.24 computes only the FIRST accumulator of a $group (later ones come back 0)
    // and implements only $sum and $count there: one accumulator per $group stage.
    const perFleet = await samples
      .aggregate<{ _id: string; total: number }>([{ $group: { _id: '$fleet', total: { $sum: '$hashrate' } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(perFleet).toEqual([
      { _id: 'a', total: 250 },
      { _id: 'b', total: 40 },
    ]);
    const counted = await samples.aggregate([{ $match: { hashrate: { $gte: 100 } } }, { $count: 'pods' }]).toArray();
    expect(counted).toEqual([{ pods: 2 }]);
  });

  it('enforces a unique index (duplicate key error 11000)', async () => {
    const rollups = client.db(dbName).collection('rollups');
    const indexName = await rollups.createIndex({ fleet: 1, windowStart: 1 }, { unique: true });
    expect(indexName).toBe('fleet_1_windowStart_1');
    const indexes = await rollups.listIndexes().toArray();
    expect(indexes.find((i) => i.name === indexName)).toMatchObject({ unique: true });

    const windowStart = new Date('2026-01-01T00:00:00Z');
    await rollups.insertOne({ fleet: 'a', windowStart, hashrate: 1 });
    const duplicate = await rollups.insertOne({ fleet: 'a', windowStart, hashrate: 2 }).catch((err: unknown) => err);
    expect(duplicate).toBeInstanceOf(MongoServerError);
    expect((duplicate as MongoServerError).code).toBe(11000);
    expect(await rollups.countDocuments({ fleet: 'a' })).toBe(1);
  });

  it.runIf(!process.env.MONGODB_URI)('keeps port and data across stopServer()/startServer()', async () => {
    const events = client.db(dbName).collection('events');
    await events.insertOne({ kind: 'before-outage' });
    await db.stopServer();
    const duringOutage = await events.insertOne({ kind: 'during-outage' }, { timeoutMS: 1_500 }).then(
      () => 'written',
      (err: unknown) => (err as Error).name,
    );
    expect(duringOutage).not.toBe('written');
    await db.startServer();
    const kinds = (await events.find({}, { projection: { _id: 0, kind: 1 } }).toArray()).map((d) => d.kind as string);
    expect(kinds).toEqual(['before-outage']);
  });
});
