import type { ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export type TenantStatus = 'active' | 'disabled';

export type MfaMethod = 'totp' | 'email' | 'webauthn' | 'backup_code';

export interface PasswordPolicy {
  min_length: number;
  max_length: number;
  /** Refuse passwords from the shipped common-password list. */
  block_common: boolean;
}

export interface LockoutPolicy {
  threshold: number;
  duration_seconds: number;
}

export interface TenantSettings {
  self_registration: boolean;
  require_email_verification: boolean;
  mfa_required: boolean;
  mfa_methods: MfaMethod[];
  password_policy: PasswordPolicy;
  allowed_redirect_uris: string[];
  access_token_ttl: number | null;
  refresh_idle_ttl: number | null;
  refresh_absolute_ttl: number | null;
  lockout: LockoutPolicy | null;
  /** WebAuthn relying party ID; null or absent: the host of PUBLIC_BASE_URL. */
  webauthn_rp_id?: string | null;
  /** Origins WebAuthn ceremonies may come from; null or absent: the origin of PUBLIC_BASE_URL. */
  webauthn_origins?: string[] | null;
}

export interface TenantDoc {
  _id: ObjectId;
  slug: string;
  name: string;
  status: TenantStatus;
  settings: TenantSettings;
  created_at: Date;
  updated_at: Date;
}

/** `tenants`: its indexes. */
export const tenantsCollection = defineCollection<TenantDoc>({
  name: 'tenants',
  indexes: [{ key: { slug: 1 }, name: 'slug_unique', unique: true }],
});
