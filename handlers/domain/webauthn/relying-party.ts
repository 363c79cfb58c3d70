import type { TenantDoc } from '../../store/tenants.ts';

/** Who a WebAuthn credential is scoped to, and where ceremonies may come from. */
export interface RelyingParty {
  /** RP ID: a registrable domain (no scheme or port). */
  id: string;
  /** Shown by the authenticator. */
  name: string;
  /** Exact origins (`scheme://host[:port]`) the browser may report in clientDataJSON. */
  origins: string[];
}

/**
 * Per tenant: `settings.webauthn_rp_id` and `settings.webauthn_origins` when set, otherwise the
 * host and origin of PUBLIC_BASE_URL (where the hosted pages are served).
 */
export function relyingPartyFor(tenant: TenantDoc, publicBaseUrl: string): RelyingParty {
  const base = new URL(publicBaseUrl);
  const origins = tenant.settings.webauthn_origins?.filter((o) => o.length > 0) ?? [];
  return {
    id: tenant.settings.webauthn_rp_id || base.hostname,
    name: tenant.name,
    origins: origins.length > 0 ? origins : [base.origin],
  };
}
