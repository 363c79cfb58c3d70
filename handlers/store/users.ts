import type { ObjectId } from 'mongodb';
import type { MfaMethod } from './tenants.ts';
import { defineCollection } from './collection.ts';

export type UserStatus = 'pending' | 'active' | 'locked' | 'disabled';

export interface TotpEnrolment {
  secret_enc: string;
  confirmed_at: Date | null;
  /** Highest time step accepted so far: a code for this or an earlier step is a replay. */
  last_step: number;
}

export interface UserMfa {
  totp: TotpEnrolment | null;
  email_enabled: boolean;
  /** HMACs of the unused backup codes; using one pulls it out atomically. */
  backup_codes: string[];
  backup_codes_created_at: Date | null;
  /** An authenticator-app enrolment waiting for its first code; replaces nothing until confirmed. */
  totp_pending?: TotpPendingEnrolment | null;
  /** How many WebAuthn credentials the user has (they live in `webauthn_credentials`). */
  webauthn_count?: number;
}

export interface TotpPendingEnrolment {
  secret_enc: string;
  created_at: Date;
  expires_at: Date;
  failed_attempts: number;
}

export interface UserDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  email: string;
  /** Lower-cased, NFC-normalised email: the unique key within a tenant. */
  email_normalized: string;
  email_verified: boolean;
  password_hash: string | null;
  status: UserStatus;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  phone: string | null;
  locale: string | null;
  timezone: string | null;
  custom_data: Record<string, unknown> | null;
  mfa: UserMfa;
  /** Failed password attempts in the current lockout window. */
  failed_logins: number;
  locked_until: Date | null;
  password_changed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** `users`: its indexes. */
export const usersCollection = defineCollection<UserDoc>({
  name: 'users',
  indexes: [
    { key: { tenant_id: 1, email_normalized: 1 }, name: 'tenant_email_unique', unique: true },
    { key: { email_normalized: 1 }, name: 'email_lookup' },
  ],
});
