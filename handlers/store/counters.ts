import { defineCollection } from './collection.ts';

export interface CounterDoc {
  _id: string;
  count: number;
  window_started_at: Date;
  expires_at: Date;
}

/** `counters`: its indexes and expiry. */
export const countersCollection = defineCollection<CounterDoc>({
  name: 'counters',
  indexes: [],
  expiry: { field: 'expires_at', marginSeconds: 0 },
});
