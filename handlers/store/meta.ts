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
