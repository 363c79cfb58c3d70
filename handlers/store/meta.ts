import type { Collection } from 'mongodb';
import { defineCollection } from './collection.ts';

export interface MetaDoc {
  _id: string;
  value: unknown;
  updated_at: Date;
}

/** `meta`: its indexes. */
export const metaCollection = defineCollection<MetaDoc>({
  name: 'meta',
  indexes: [],
});

const schemaVersionKey = 'schema_version';

/** Facts about the database itself, one document per key in `meta`. */
export class MetaStore {
  constructor(private readonly meta: Collection<MetaDoc>) {}

  /** The schema version the last migration recorded; null before the first. */
  async schemaVersion(): Promise<number | null> {
    const doc = await this.meta.findOne({ _id: schemaVersionKey });
    return typeof doc?.value === 'number' ? doc.value : null;
  }

  async setSchemaVersion(version: number, now: Date): Promise<void> {
    await this.meta.updateOne({ _id: schemaVersionKey }, { $set: { value: version, updated_at: now } }, { upsert: true });
  }
}
