import { LRUCache } from 'lru-cache';
import type { ObjectId } from 'mongodb';
import type { Clock } from '../core/clock.ts';

/**
 * A short-lived, in-process copy of documents that every authenticated request reads by `_id`
 * (its session and its user). Three rules keep it honest:
 * - any write to the collection from this process (seen by the store's command monitor) evicts the
 *   written `_id`s, or everything when the filter does not name them;
 * - a read that overlaps such a write is not kept (a generation counter moves on every eviction,
 *   at the write's start and again at its end);
 * - an entry is used for at most `ttlMs` (by the injected clock), which bounds how long a write
 *   made by another replica can go unseen here.
 * Documents handed out are frozen (plain objects and arrays), since several requests share them.
 * Used for sessions and users (bearer checks) and tenants (every tenant-scoped request).
 */
export class RecentDocuments<T extends { _id: ObjectId }> {
  private readonly entries: LRUCache<string, { doc: T; at: number }>;
  private generation = 0;
  private readonly loading = new Map<string, Promise<T | null>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    max = 10_000,
  ) {
    this.entries = new LRUCache({ max });
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  async get(id: ObjectId, load: () => Promise<T | null>): Promise<T | null> {
    if (!this.enabled) return load();
    const key = id.toHexString();
    const now = this.clock.now().getTime();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs && now >= hit.at) return hit.doc;
    // Concurrent misses for one document share one read (a hot tenant would otherwise send a
    // burst of identical queries each time its entry expires).
    const inFlight = this.loading.get(key);
    if (inFlight) return inFlight;
    const generation = this.generation;
    const loading = load().then((doc) => {
      if (doc === null) return null;
      freezePlain(doc);
      if (generation === this.generation) this.entries.set(key, { doc, at: now });
      return doc;
    });
    this.loading.set(key, loading);
    try {
      return await loading;
    } finally {
      if (this.loading.get(key) === loading) this.loading.delete(key);
    }
  }

  /** Forgets the given ids, or every entry when `ids` is undefined. */
  evict(ids: string[] | undefined): void {
    this.generation++;
    // A read under way may predate the write: later callers must not join it.
    if (ids === undefined) this.loading.clear();
    else for (const id of ids) this.loading.delete(id);
    if (ids === undefined) this.entries.clear();
    else for (const id of ids) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Freezes plain objects and arrays, leaving class instances (ObjectId, Date, Binary) alone. */
function freezePlain(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return;
  Object.freeze(value);
  for (const child of Object.values(value)) freezePlain(child);
}
