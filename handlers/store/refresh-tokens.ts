import type { ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export interface RefreshTokenDoc {
  _id: ObjectId;
  token_hash: string;
  tenant_id: ObjectId;
  user_id: ObjectId;
  session_id: ObjectId;
  created_at: Date;
  expires_at: Date;
  rotated_at: Date | null;
  /** The successor, encrypted, kept only so a concurrent tab inside the grace window gets the same one. */
  successor_enc: string | null;
  revoked_at: Date | null;
}

/** `refresh_tokens`: its indexes and expiry. */
export const refreshTokensCollection = defineCollection<RefreshTokenDoc>({
  name: 'refresh_tokens',
  indexes: [
    { key: { token_hash: 1 }, name: 'token_hash_unique', unique: true },
    { key: { session_id: 1 }, name: 'session' },
  ],
  expiry: { field: 'expires_at', marginSeconds: 86_400 },
});
