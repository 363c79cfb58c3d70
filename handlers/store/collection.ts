import type { Document, IndexSpecification } from 'mongodb';

export interface IndexSpec {
  key: IndexSpecification;
  name: string;
  unique?: boolean;
}

/** One collection's shape in the database: its name, its indexes, and when a document is garbage. */
export interface CollectionSpec<T extends Document = Document> {
  name: string;
  indexes: IndexSpec[];
  /** The date after which (plus a margin) a document is garbage: a TTL index, or the sweeper. */
  expiry?: { field: keyof T & string; marginSeconds: number };
}

export function defineCollection<T extends Document>(spec: CollectionSpec<T>): CollectionSpec<T> {
  return spec;
}
