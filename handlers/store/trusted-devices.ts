import type { ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export interface TrustedDeviceDoc {
  _id: ObjectId;
  token_hash: string;
  tenant_id: ObjectId;
  user_id: ObjectId;
  /** Client-supplied hint, kept only to label the device in lists. */
  device_fingerprint: string | null;
  user_agent: string;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date;
  revoked_at: Date | null;
}

/** `trusted_devices`: its indexes and expiry. */
export const trustedDevicesCollection = defineCollection<TrustedDeviceDoc>({
  name: 'trusted_devices',
  indexes: [
    { key: { token_hash: 1 }, name: 'token_hash_unique', unique: true },
    { key: { user_id: 1 }, name: 'user' },
  ],
  expiry: { field: 'expires_at', marginSeconds: 86_400 },
});
