import { ObjectId, type Collection } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { RecentDocuments } from './recent-documents.ts';
import { defineCollection } from './collection.ts';
import type { WriteEvent } from './write-monitor.ts';

export interface InvalidationDoc {
  _id: ObjectId;
  /** The process that wrote; it has evicted its own copies already. */
  origin: string;
  collection: string;
  /** Hex `_id`s, or null for "anything in the collection". */
  ids: string[] | null;
  created_at: Date;
}

/** `cache_invalidations`: announcements of writes, read back by every replica's poll. */
export const cacheInvalidationsCollection = defineCollection<InvalidationDoc>({
  name: 'cache_invalidations',
  indexes: [],
  expiry: { field: 'created_at', marginSeconds: 600 },
});

/** Collections whose documents replicas cache, so their changes are announced to the others. */
const announced = new Set(['users', 'sessions', 'tenants', 'applications', '*']);
/** A cache kept in step with writes: it forgets the written `_id`s (hex or string), or everything. */
export interface Evictable {
  evict(ids: string[] | undefined): void;
}

/** How far back (seconds) each poll looks, for clocks of replicas that differ a little. */
const LOOKBACK_SECONDS = 2;

/**
 * Keeps every replica's RecentDocuments in step with writes. Locally, a write evicts at its start
 * and again at its end. Across replicas, a finished write to a cached collection is announced in
 * `cache_invalidations` (fire and forget; awaited on close), and each replica with caches polls
 * that collection every `pollMs` and evicts what others wrote. A failed poll empties the caches.
 * Writes that bypass ScaiKey (an operator's shell) are only caught by the caches' TTL.
 */
export class CacheInvalidation {
  private readonly caches = new Map<string, Evictable[]>();
  private readonly origin = new ObjectId().toHexString();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly seen = new Map<string, number>();
  private since = Math.floor(Date.now() / 1000);
  private poller: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly announcements: Collection<InvalidationDoc>,
    /** False when the client cannot report its writes: then nothing may be cached. */
    readonly seesWrites: boolean,
  ) {}

  onWrite(event: WriteEvent): void {
    this.evictLocal(event.collection, event.ids);
    if (event.phase !== 'ended' || !event.ok || event.extendsOnly || !announced.has(event.collection)) return;
    const announcement = this.announcements
      .insertOne({ _id: new ObjectId(), origin: this.origin, collection: event.collection, ids: event.ids ?? null, created_at: new Date() })
      .catch(() => undefined); // the TTL still bounds staleness
    this.inFlight.add(announcement);
    void announcement.finally(() => this.inFlight.delete(announcement));
  }

  /** A cache of `collection` documents, kept in step; disabled when `ttlMs` is 0 or writes are invisible. */
  register<T extends { _id: ObjectId }>(collection: string, options: { ttlMs: number; pollMs: number; clock: Clock }): RecentDocuments<T> {
    const cache = new RecentDocuments<T>(this.seesWrites ? options.ttlMs : 0, options.clock);
    if (cache.enabled) this.follow(collection, cache, options.pollMs);
    return cache;
  }

  /**
   * Keeps a cache of `collection` of the caller's own making in step: it is told of this
   * process's writes and of other replicas' (polled every `pollMs`). False when writes are
   * invisible: then it is told nothing, and only its own expiry bounds staleness.
   */
  follow(collection: string, cache: Evictable, pollMs: number): boolean {
    if (!this.seesWrites) return false;
    const list = this.caches.get(collection) ?? [];
    list.push(cache);
    this.caches.set(collection, list);
    this.poller ??= setInterval(() => void this.poll(), pollMs).unref();
    return true;
  }

  /** Reads what other replicas announced since the last poll and evicts it here. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const startedAt = Math.floor(Date.now() / 1000);
    try {
      const recent = await this.announcements.find({ _id: { $gte: ObjectId.createFromTime(this.since - LOOKBACK_SECONDS) } }).toArray();
      for (const doc of recent) {
        const key = doc._id.toHexString();
        if (this.seen.has(key)) continue;
        this.seen.set(key, doc._id.getTimestamp().getTime() / 1000);
        if (doc.origin !== this.origin) this.evictLocal(doc.collection, doc.ids ?? undefined);
      }
      this.since = startedAt;
      for (const [key, at] of this.seen) if (at < startedAt - 2 * LOOKBACK_SECONDS) this.seen.delete(key);
    } catch {
      this.evictLocal('*', undefined);
    } finally {
      this.polling = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    this.poller = undefined;
    await Promise.all(this.inFlight);
  }

  private evictLocal(collection: string, ids: string[] | undefined): void {
    for (const [name, caches] of this.caches) {
      if (collection === name || collection === '*') for (const cache of caches) cache.evict(ids);
    }
  }
}
