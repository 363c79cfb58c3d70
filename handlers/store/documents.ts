import type { ObjectId } from 'mongodb';

/** Shapes of the stored documents. Every tenant-owned document carries `tenant_id`. */

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

export interface SessionDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  remember_me: boolean;
  /** Authentication methods used, e.g. ["pwd"] or ["pwd", "otp"]. */
  amr: string[];
  client_ip: string;
  user_agent: string;
  created_at: Date;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

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

export type FlowKind = 'identify' | 'mfa' | 'verify_email' | 'password_reset';

export interface FlowDoc {
  _id: ObjectId;
  token_hash: string;
  kind: FlowKind;
  email_normalized: string | null;
  user_id: ObjectId | null;
  tenant_id: ObjectId | null;
  /** Which API started the flow: the portal or a tenant's hosted page. */
  channel: 'portal' | 'tenant';
  remember_me: boolean;
  redirect_uri: string | null;
  failed_attempts: number;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
  /** MFA by email: HMAC of the current code and when it stops working. */
  email_code_hash?: string | null;
  email_code_expires_at?: Date | null;
  email_codes_sent?: number;
  email_code_sent_at?: Date | null;
  /** WebAuthn challenges issued for this MFA flow (bounded). */
  webauthn_challenges?: number;
}

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

export interface WebAuthnCredentialDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  /** The authenticator's credential ID, base64url; unique. */
  credential_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  /** Signature counter last seen; 0 for authenticators without one. */
  counter: number;
  transports: string[];
  name: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  aaguid: string;
  rp_id: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** A WebAuthn challenge: single-use, bound to a user and to an MFA flow or a session. */
export interface WebAuthnChallengeDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  purpose: 'registration' | 'authentication';
  challenge: string;
  /** The MFA flow an authentication challenge belongs to. */
  flow_id: ObjectId | null;
  /** The session a registration challenge belongs to. */
  session_id: ObjectId | null;
  rp_id: string;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

export interface SigningKeyDoc {
  _id: string;
  alg: 'ES256';
  public_jwk: Record<string, unknown>;
  private_jwk_enc: string;
  status: 'active' | 'retired';
  created_at: Date;
  /** Retired keys stay published until every token they signed has expired. */
  publish_until: Date | null;
}

export interface CounterDoc {
  _id: string;
  count: number;
  window_started_at: Date;
  expires_at: Date;
}

export interface AuditEventDoc {
  _id: ObjectId;
  tenant_id: ObjectId | null;
  user_id: ObjectId | null;
  type: string;
  outcome: 'success' | 'failure';
  client_ip: string;
  user_agent: string;
  details: Record<string, unknown>;
  created_at: Date;
}

export interface MetaDoc {
  _id: string;
  value: unknown;
  updated_at: Date;
}
