import type { Collection } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';
import type { MfaMethod, PasswordPolicy } from './tenants.ts';

/** The defaults new tenants' settings start from; one document, `_id: 'defaults'`. */
export interface PlatformSettingsDoc {
  _id: 'defaults';
  self_registration?: boolean;
  require_email_verification?: boolean;
  mfa_required?: boolean;
  mfa_methods?: MfaMethod[];
  password_policy?: PasswordPolicy;
  access_token_ttl?: number | null;
  refresh_idle_ttl?: number | null;
  refresh_absolute_ttl?: number | null;
  updated_at: Date;
  /** Incremented by every change: a change is written only over the version it was checked against. */
  version?: number | null;
}

export const platformSettingsCollection = defineCollection<PlatformSettingsDoc>({
  name: 'platform_settings',
  indexes: [],
});

/** Reads and the one atomic update of the platform settings document. */
export class PlatformSettingsStore {
  constructor(private readonly settings: Collection<PlatformSettingsDoc>) {}

  get(): Promise<PlatformSettingsDoc | null> {
    return this.settings.findOne({ _id: 'defaults' });
  }

  /**
   * Sets the named fields (dotted paths allowed) in one upserting update, if the document is still
   * at `version` (null: never changed, or absent); returns the document after it, or null when
   * another change came first.
   */
  async set(fields: Record<string, unknown>, now: Date, version: number | null): Promise<PlatformSettingsDoc | null> {
    try {
      return await this.settings.findOneAndUpdate({ _id: 'defaults', version: version ?? null }, { $set: { ...fields, updated_at: now, version: (version ?? 0) + 1 } }, { upsert: true, returnDocument: 'after' });
    } catch (error) {
      // The version moved on: the upsert tried to insert a second 'defaults'.
      if (isDuplicateKey(error)) return null;
      throw error;
    }
  }
}
