import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import type { PlatformSettingsDoc, PlatformSettingsStore } from '../../store/platform-settings.ts';
import type { MfaMethod, PasswordPolicy, TenantSettings } from '../../store/tenants.ts';
import { defaultTenantSettings } from './tenants.ts';

export interface PlatformSettingsView {
  self_registration: boolean;
  require_email_verification: boolean;
  mfa_required: boolean;
  mfa_methods: MfaMethod[];
  password_policy: PasswordPolicy;
  access_token_ttl: number | null;
  refresh_idle_ttl: number | null;
  refresh_absolute_ttl: number | null;
  updated_at: string | null;
}

export type PlatformSettingsPatch = Partial<Omit<PlatformSettingsView, 'updated_at' | 'password_policy'>> & { password_policy?: Partial<PasswordPolicy> };

export const mfaMethods: readonly MfaMethod[] = ['totp', 'email', 'webauthn', 'backup_code'];

/** Ranges shared by the platform defaults and tenant settings (the spec states the same). */
export function checkSettingRanges(patch: { [key: string]: unknown; password_policy?: Partial<PasswordPolicy> }, merged: PasswordPolicy | null): void {
  const range = (field: string, v: unknown, min: number, max: number) => {
    if (v === undefined || v === null) return;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new InvalidInput({ field, reason: `must be an integer from ${min} to ${max}` });
  };
  range('access_token_ttl', patch.access_token_ttl, 60, 86_400);
  range('refresh_idle_ttl', patch.refresh_idle_ttl, 300, 31_536_000);
  range('refresh_absolute_ttl', patch.refresh_absolute_ttl, 300, 31_536_000);
  const policy = patch.password_policy;
  if (policy) {
    range('password_policy.min_length', policy.min_length, 8, 128);
    range('password_policy.max_length', policy.max_length, 64, 1024);
  }
  if (merged && merged.min_length > merged.max_length) throw new InvalidInput({ field: 'password_policy', reason: 'min_length must not exceed max_length' });
  const methods = patch.mfa_methods;
  if (methods !== undefined) {
    if (!Array.isArray(methods) || methods.length === 0 || methods.some((m) => !(mfaMethods as readonly unknown[]).includes(m)) || new Set(methods).size !== methods.length) {
      throw new InvalidInput({ field: 'mfa_methods', reason: `distinct values of ${mfaMethods.join(', ')}, at least one` });
    }
  }
}

/**
 * The platform settings (docs §8.22): the defaults new tenants' settings start from, in one
 * document changed by one atomic update. Absent fields fall back to the built-in defaults.
 */
export class PlatformSettings {
  constructor(private readonly store: PlatformSettingsStore, private readonly clock: Clock) {}

  async get(): Promise<PlatformSettingsView> {
    return view(await this.store.get());
  }

  /** What a new tenant's settings start from. */
  async tenantDefaults(): Promise<TenantSettings> {
    const current = await this.get();
    const { updated_at: _unused, ...defaults } = current;
    return { ...defaultTenantSettings(), ...defaults, password_policy: { ...defaults.password_policy } };
  }

  /**
   * Checks the change against the settings as they are (a minimum never above its maximum) and
   * writes it only over that version, so two racing changes cannot together pass a check neither
   * would pass alone; the loser checks again against the winner's settings.
   */
  async update(patch: PlatformSettingsPatch): Promise<PlatformSettingsView> {
    for (let round = 0; round < 10; round++) {
      const stored = await this.store.get();
      const current = view(stored);
      const merged = patch.password_policy ? { ...current.password_policy, ...patch.password_policy } : null;
      checkSettingRanges(patch, merged);
      // The whole merged policy: the version guard keeps a concurrent change from being overwritten.
      const fields: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(patch)) if (value !== undefined) fields[key] = key === 'password_policy' ? merged : value;
      const written = await this.store.set(fields, this.clock.now(), stored?.version ?? null);
      if (written) return view(written);
    }
    throw new ApiError('serviceUnavailable', { internal: 'platform settings kept changing under this update' });
  }
}

function view(doc: PlatformSettingsDoc | null): PlatformSettingsView {
  const d = defaultTenantSettings();
  return {
    self_registration: doc?.self_registration ?? d.self_registration,
    require_email_verification: doc?.require_email_verification ?? d.require_email_verification,
    mfa_required: doc?.mfa_required ?? d.mfa_required,
    mfa_methods: doc?.mfa_methods ?? d.mfa_methods,
    password_policy: { ...d.password_policy, ...doc?.password_policy },
    access_token_ttl: doc?.access_token_ttl ?? d.access_token_ttl,
    refresh_idle_ttl: doc?.refresh_idle_ttl ?? d.refresh_idle_ttl,
    refresh_absolute_ttl: doc?.refresh_absolute_ttl ?? d.refresh_absolute_ttl,
    updated_at: doc?.updated_at ? doc.updated_at.toISOString() : null,
  };
}
