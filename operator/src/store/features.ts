import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { errorText, isUnsupportedFeatureError } from './connection.js';

/** What the connected server can do; each missing feature has a fallback in the store. */
export interface ServerFeatures {
  /** `create` with `timeseries` options. Fallback: plain collection. */
  timeSeries: boolean;
  /** Indexes with `expireAfterSeconds`. Fallback: the store deletes expired documents itself. */
  ttlIndexes: boolean;
  /** `$group` on computed keys with `$subtract`/`$divide`/`$floor` and `$avg`/`$max`. Fallback: bucketing in the client. */
  aggregationExpressions: boolean;
}

export interface FeatureFallback {
  feature: keyof ServerFeatures;
  fallback: string;
  serverSaid: string;
}

export interface FeatureReport {
  features: ServerFeatures;
  fallbacks: FeatureFallback[];
  server: { version?: string; ferretdb?: string };
}

const FALLBACK_TEXT: Record<keyof ServerFeatures, string> = {
  timeSeries: 'plain collection with a unique key index instead of a time-series collection',
  ttlIndexes: 'periodic retention sweep (deleteMany on expireAt) instead of TTL indexes',
  aggregationExpressions: 'history downsampling done in the client over the matched rollups instead of a $group pipeline',
};

/**
 * Asks the server what it supports by trying each feature on scratch collections (dropped
 * afterwards). Only "not implemented/supported" answers count as missing; any other error is thrown.
 */
export async function detectFeatures(db: Db, prefix: string, logger: Logger): Promise<FeatureReport> {
  const scratch = `${prefix}featureprobe_${process.pid}_${Date.now().toString(36)}`;
  const fallbacks: FeatureFallback[] = [];
  const features: ServerFeatures = { timeSeries: true, ttlIndexes: true, aggregationExpressions: true };
  const miss = (feature: keyof ServerFeatures, err: unknown) => {
    features[feature] = false;
    fallbacks.push({ feature, fallback: FALLBACK_TEXT[feature], serverSaid: errorText(err) });
  };

  const server: FeatureReport['server'] = {};
  try {
    const info = await db.admin().command({ buildInfo: 1 });
    if (typeof info.version === 'string') server.version = info.version;
    if (typeof info.ferretdbVersion === 'string') server.ferretdb = info.ferretdbVersion;
  } catch {
    // buildInfo is informational only
  }

  try {
    try {
      await db.createCollection(`${scratch}_ts`, { timeseries: { timeField: 't', metaField: 'm', granularity: 'seconds' } });
    } catch (err) {
      if (!isUnsupportedFeatureError(err)) throw err;
      miss('timeSeries', err);
    }

    const col = db.collection(scratch);
    await col.insertMany([
      { t: new Date(0), v: 1 },
      { t: new Date(1_500), v: 3 },
      { t: new Date(2_500), v: 5 },
    ]);
    try {
      await col.createIndex({ t: 1 }, { expireAfterSeconds: 365 * 86_400, name: 'ttl_probe' });
    } catch (err) {
      if (!isUnsupportedFeatureError(err)) throw err;
      miss('ttlIndexes', err);
    }
    try {
      const got = await col
        .aggregate<{ _id: number; v: number; m: number }>([
          { $group: { _id: { $floor: { $divide: [{ $subtract: ['$t', new Date(0)] }, 1_000] } }, v: { $avg: '$v' }, m: { $max: '$v' } } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      // Check the answer too: a server that accepts but ignores an operator must not pass.
      const ok = got.length === 3 && got[1]?._id === 1 && got[1]?.v === 3 && got[2]?.m === 5;
      if (!ok) throw Object.assign(new Error(`aggregation answered wrongly: ${JSON.stringify(got)}`), { wrongAnswer: true });
    } catch (err) {
      if (!isUnsupportedFeatureError(err) && !(err as { wrongAnswer?: boolean }).wrongAnswer) throw err;
      miss('aggregationExpressions', err);
    }
  } finally {
    await db
      .collection(scratch)
      .drop()
      .catch(() => undefined);
    await db
      .collection(`${scratch}_ts`)
      .drop()
      .catch(() => undefined);
  }

  for (const f of fallbacks) {
    logger.warn(
      { feature: f.feature, fallback: f.fallback, serverSaid: f.serverSaid, server },
      `history store: server lacks ${f.feature}; using ${f.fallback}`,
    );
  }
  return { features, fallbacks, server };
}
