import {
  AbstractCursor,
  Collection,
  MongoClientClosedError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Db,
  type MongoClient,
  type TopologyDescriptionChangedEvent,
} from 'mongodb';
import { ApiError, RequestValidationError } from '../core/errors.ts';

/** What a 503 for a lost database tells clients (Retry-After, seconds). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Server error codes that mean "not serving right now" (shutdown, failover, network), not "wrong request". */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);
/** FerretDB answers InternalError (1) carrying its backend's error when PostgreSQL is unreachable. */
const BACKEND_DOWN = /SQLSTATE (08|57P0)|failed to connect to|dial error|connection refused|unexpected EOF|conn closed|database system is (starting up|shutting down|in recovery)/i;

/** True for a driver error that means the database cannot be reached or is not serving. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError || // includes timeouts and a cleared pool
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoServerClosedError
  ) {
    return true;
  }
  if (error instanceof MongoServerError) {
    return UNAVAILABLE_CODES.has(Number(error.code)) || (error.code === 1 && BACKEND_DOWN.test(error.message));
  }
  return false;
}

function oneLine(message: string): string {
  return message.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function unavailable(why: string, cause?: unknown): ApiError {
  return new ApiError('serviceUnavailable', { retryAfter: DATABASE_RETRY_AFTER_SECONDS, internal: `database unavailable: ${why}`, cause });
}

/**
 * PostgreSQL under FerretDB stores no U+0000 in text (SQLSTATE 22P05); MongoDB does. The write was
 * refused whole, so the client gets the 422 its input earned, not a 500.
 */
function isUnstorableText(error: unknown): boolean {
  return error instanceof Error && error.name === 'MongoServerError' && /22P05|unsupported Unicode escape sequence/.test(error.message);
}

/**
 * A driver error that means "database unavailable" becomes ApiError('serviceUnavailable') with
 * Retry-After; text the database cannot store, a 422; others pass.
 */
export function translateDriverError(error: unknown): unknown {
  if (isUnstorableText(error)) return new RequestValidationError([{ loc: ['body'], msg: 'Value error, text may not contain the NUL character (U+0000)', type: 'value_error' }]);
  if (!isDatabaseUnavailable(error)) return error;
  return unavailable(oneLine((error as Error).message), error);
}

export interface AvailabilityChange {
  available: boolean;
  /** Why it was lost (the driver's or the database's words); empty when regained. */
  reason: string;
}

const PING_INTERVAL_MS = 1_000;
const PING_TIMEOUT_MS = 2_000;

/**
 * Whether the database can serve right now, known within about a second of losing it, without
 * waiting for the driver's server-selection timeout. Two signals:
 *  - the driver's topology: no data-bearing server left (its 1 s heartbeat failed, a connection
 *    broke and the pool was cleared);
 *  - a ping every second: it fails with a definite "unavailable" error when the server is up but
 *    cannot serve (FerretDB whose PostgreSQL died). A ping that is merely slow does not count.
 * While unavailable, store calls fail at once with ApiError('serviceUnavailable') (Retry-After)
 * instead of each waiting seconds for a server; /readyz answers 503.
 */
export class DatabaseAvailability {
  private topologyUp = true;
  private backendUp = true;
  private reason = '';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners: Array<(change: AvailabilityChange) => void> = [];
  private readonly onTopology = (event: TopologyDescriptionChangedEvent) => {
    const up = event.newDescription.hasDataBearingServers;
    if (up === this.topologyUp) return;
    const before = this.available;
    this.topologyUp = up;
    if (!up) {
      const errors = [...event.newDescription.servers.values()].map((s) => s.error?.message).filter(Boolean);
      this.reason = errors[0] ? `no server reachable: ${errors[0]}` : 'no server reachable';
    }
    this.changed(before);
  };

  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
  ) {}

  get available(): boolean {
    return this.topologyUp && this.backendUp;
  }

  onChange(listener: (change: AvailabilityChange) => void): void {
    this.listeners.push(listener);
  }

  /** The error a store call gets while the database is unavailable. */
  error(): ApiError {
    return unavailable(this.reason || 'not reachable');
  }

  start(): void {
    this.client.on('topologyDescriptionChanged', this.onTopology);
    this.schedule();
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.client.off('topologyDescriptionChanged', this.onTopology);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.ping(), PING_INTERVAL_MS);
    this.timer.unref();
  }

  private async ping(): Promise<void> {
    let up: boolean | undefined;
    let why = '';
    try {
      await this.db.command({ ping: 1 }, { timeoutMS: PING_TIMEOUT_MS });
      up = true;
    } catch (error) {
      if (isDatabaseUnavailable(error) && !(error instanceof MongoOperationTimeoutError)) {
        up = false;
        why = oneLine((error as Error).message);
      }
    }
    if (!this.closed && up !== undefined && up !== this.backendUp) {
      const before = this.available;
      this.backendUp = up;
      if (!up) this.reason = why;
      this.changed(before);
    }
    this.schedule();
  }

  private changed(before: boolean): void {
    const now = this.available;
    if (now === before || this.closed) return;
    const change = { available: now, reason: now ? '' : this.reason };
    for (const listener of this.listeners) listener(change);
  }
}

/** Calls that only build something (a cursor, a handle) and do no I/O: never refused up front. */
const NO_IO = {
  db: new Set<PropertyKey>(['collection', 'listCollections', 'aggregate', 'watch', 'admin']),
  collection: new Set<PropertyKey>(['find', 'aggregate', 'listIndexes', 'listSearchIndexes', 'watch', 'initializeOrderedBulkOp', 'initializeUnorderedBulkOp']),
};
/** The cursor calls that talk to the server. */
const CURSOR_IO = new Set<PropertyKey>(['toArray', 'next', 'hasNext', 'tryNext', 'forEach', 'explain']);

type Kind = 'db' | 'collection' | 'cursor';

/**
 * Wraps the Db so that every call through it (and through its collections and cursors) answers
 * ApiError('serviceUnavailable') when the database is unavailable: at once while `availability`
 * says so, else when the driver's error says so. All other results and errors are unchanged.
 */
export function guardDatabase(db: Db, availability: { readonly available: boolean; error(): ApiError }): Db {
  const wrap = <T extends object>(target: T, kind: Kind): T => {
    const proxy: T = new Proxy(target, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        const io = kind === 'cursor' ? CURSOR_IO.has(property) : !NO_IO[kind].has(property);
        return (...args: unknown[]) => {
          if (io && !availability.available) return Promise.reject(availability.error());
          let result: unknown;
          try {
            result = (value as (...a: unknown[]) => unknown).apply(object, args);
          } catch (error) {
            throw translateDriverError(error);
          }
          if (result === object) return proxy; // cursor chaining: sort(), limit(), …
          if (result instanceof AbstractCursor) return wrap(result, 'cursor');
          if (result instanceof Collection) return wrap(result, 'collection');
          if (result instanceof Promise) return result.catch((error: unknown) => Promise.reject(translateDriverError(error)));
          return result;
        };
      },
    });
    return proxy;
  };
  return wrap(db, 'db');
}
