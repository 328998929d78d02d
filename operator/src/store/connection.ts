import { MongoClient, MongoError, MongoParseError, MongoServerError } from 'mongodb';
import { redactUri, type StoreConfig } from './config.js';

/** The URI is malformed or names options the driver rejects: fix the config, retrying will not help. */
export class StoreUriError extends Error {
  override name = 'StoreUriError';
}

/** The server could not be reached in time. Writes keep buffering; the store retries. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** Builds a client from validated config. A malformed URI fails here, before any I/O. */
export function createClient(config: StoreConfig): MongoClient {
  try {
    return new MongoClient(config.uri, {
      appName: config.appName,
      maxPoolSize: config.pool.maxPoolSize,
      minPoolSize: config.pool.minPoolSize,
      connectTimeoutMS: config.timeouts.connectTimeoutMS,
      serverSelectionTimeoutMS: config.timeouts.serverSelectionTimeoutMS,
      socketTimeoutMS: config.timeouts.socketTimeoutMS,
      // Our writes are idempotent upserts and are retried by the buffer; the driver's own single
      // retry would only hide outages from the buffer's metrics.
      retryWrites: false,
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StoreUriError(`invalid MongoDB URI ${redactUri(config.uri)}: ${why}`);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof MongoServerError) return `${err.codeName ?? 'error'} (${String(err.code)}): ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

// Server error codes that mean "the server is going away or not there", not "your request is bad".
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436, 262]);

/** True when retrying the same request later can succeed (network, selection, shutdown). */
export function isTransientError(err: unknown): boolean {
  if (err instanceof MongoParseError) return false;
  if (err instanceof MongoServerError) {
    return TRANSIENT_CODES.has(Number(err.code)) || err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('ResetPool');
  }
  if (err instanceof MongoError) {
    // MongoNetworkError, MongoServerSelectionError, MongoNetworkTimeoutError, MongoTopologyClosedError,
    // MongoNotConnectedError, MongoPoolClearedError ... are all driver-side, connection-level failures.
    return true;
  }
  return false;
}

export const NOT_IMPLEMENTED = 238;
export const NAMESPACE_EXISTS = 48;
export const DUPLICATE_KEY = 11000;

/** Server said "I do not have this feature" (FerretDB answers NotImplemented, MongoDB InvalidOptions etc.). */
export function isUnsupportedFeatureError(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  const code = Number(err.code);
  return (
    code === NOT_IMPLEMENTED ||
    code === 72 /* InvalidOptions */ ||
    code === 115 /* CommandNotSupported */ ||
    code === 168 /* InvalidPipelineOperator */ ||
    /not (implemented|supported)/i.test(err.message)
  );
}
