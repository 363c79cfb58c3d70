import type { Collection } from 'mongodb';
import { defineCollection } from './collection.ts';
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

  /** Sets the named fields (dotted paths allowed) in one upserting update; returns the document after it. */
  async set(fields: Record<string, unknown>, now: Date): Promise<PlatformSettingsDoc> {
    const doc = await this.settings.findOneAndUpdate({ _id: 'defaults' }, { $set: { ...fields, updated_at: now } }, { upsert: true, returnDocument: 'after' });
    return doc!;
  }
}
