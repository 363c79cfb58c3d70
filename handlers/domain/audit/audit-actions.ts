/**
 * The catalogue of audit actions: every `type` ScaiKey records, once, with the resource it is
 * about and what it means (GET /api/v1/admin/audit/actions and /resource-types). A test checks
 * that every type the code records is listed here; a new audited action adds its line.
 */

export const auditResourceTypes = {
  user: 'A user account (its profile, password, second factors or sign-ins).',
  session: "A sign-in session (the portal's, a hosted page's, or an application's).",
  application: 'An OAuth/OpenID Connect client registered by an administrator.',
  tenant: 'A tenant (an organisation with its own users).',
  partner: 'A partner (the owner of a group of tenants).',
  webauthn_credential: 'A security key or passkey of a user.',
  trusted_device: 'A device a user chose to trust for second-factor sign-in.',
  consent: 'What a user allowed an application (by its client_id).',
  platform: 'The platform as a whole (its settings, the bootstrap administrator).',
} as const;

export type AuditResourceType = keyof typeof auditResourceTypes;

/** Where an entry's resource id comes from: its subject user, a field of its details, or nowhere. */
type ResourceIdSource = 'user' | { detail: string; kind?: 'session' } | null;

interface ActionSpec {
  resource: AuditResourceType;
  id: ResourceIdSource;
  description: string;
}

const actions = {
  login: { resource: 'user', id: 'user', description: 'A sign-in attempt (portal, hosted page, admin console or OpenID sign-in); failures carry the reason.' },
  logout: { resource: 'user', id: 'user', description: 'A user signed out (the portal, the admin console).' },
  register: { resource: 'user', id: 'user', description: 'A user registered themselves on a hosted page.' },
  'email.verified': { resource: 'user', id: 'user', description: 'A user confirmed their email address.' },
  'password.change': { resource: 'user', id: 'user', description: 'A user changed their password (a failure: the current password was wrong).' },
  'password.reset_requested': { resource: 'user', id: 'user', description: 'A password-reset link was sent.' },
  'user.invited': { resource: 'user', id: 'user', description: 'An invitation to choose a first password was sent.' },
  'password.reset': { resource: 'user', id: 'user', description: 'A password was set through a reset link.' },
  'password.reauthenticate': { resource: 'user', id: 'user', description: 'A user confirmed their password before a sensitive change.' },
  'mfa.verify': { resource: 'user', id: 'user', description: 'A second-factor answer during sign-in.' },
  'mfa.totp.enabled': { resource: 'user', id: 'user', description: 'An authenticator app was set up.' },
  'mfa.totp.removed': { resource: 'user', id: 'user', description: 'An authenticator app was removed.' },
  'mfa.email.enabled': { resource: 'user', id: 'user', description: 'Email codes were turned on as a second factor.' },
  'mfa.email.disabled': { resource: 'user', id: 'user', description: 'Email codes were turned off as a second factor.' },
  'mfa.backup_codes.generated': { resource: 'user', id: 'user', description: 'New backup codes were generated (the old ones stopped working).' },
  'mfa.webauthn.added': { resource: 'webauthn_credential', id: { detail: 'credential' }, description: 'A security key or passkey was registered.' },
  'mfa.webauthn.renamed': { resource: 'webauthn_credential', id: { detail: 'credential' }, description: 'A security key or passkey was renamed.' },
  'mfa.webauthn.removed': { resource: 'webauthn_credential', id: { detail: 'credential' }, description: 'A security key or passkey was removed.' },
  'trusted_device.revoked': { resource: 'trusted_device', id: { detail: 'device' }, description: 'A user stopped trusting one device.' },
  'trusted_devices.revoked': { resource: 'user', id: 'user', description: 'A user stopped trusting all their devices.' },
  'token.reuse_detected': { resource: 'session', id: { detail: 'session_id', kind: 'session' }, description: 'A rotated refresh token was presented again; its session was ended.' },
  'oauth.consent_revoked': { resource: 'consent', id: { detail: 'client_id' }, description: "A user withdrew an application's access; its sessions were ended." },
  'session.revoke': { resource: 'session', id: { detail: 'session_id' }, description: 'A user ended one of their own sessions (account page).' },
  'admin.bootstrap': { resource: 'platform', id: null, description: 'The first super administrator was created at start-up.' },
  'admin.application.create': { resource: 'application', id: { detail: 'target.id' }, description: 'An administrator registered an application.' },
  'admin.application.update': { resource: 'application', id: { detail: 'target.id' }, description: 'An administrator changed an application.' },
  'admin.application.delete': { resource: 'application', id: { detail: 'target.id' }, description: 'An administrator deleted an application.' },
  'admin.application.secret_rotated': { resource: 'application', id: { detail: 'target.id' }, description: "An administrator replaced an application's client secret." },
  'admin.partner.create': { resource: 'partner', id: { detail: 'target.id' }, description: 'A super administrator created a partner.' },
  'admin.partner.update': { resource: 'partner', id: { detail: 'target.id' }, description: "A super administrator changed a partner (its fields are listed)." },
  'admin.partner.delete': { resource: 'partner', id: { detail: 'target.id' }, description: 'A super administrator deleted a partner (soft).' },
  'admin.tenant.create': { resource: 'tenant', id: { detail: 'target.id' }, description: 'An administrator created a tenant (admin API or CLI).' },
  'admin.tenant.update': { resource: 'tenant', id: { detail: 'target.id' }, description: 'An administrator changed a tenant: settings, branding, status (a suspension ends its sessions), a move to another partner.' },
  'admin.tenant.delete': { resource: 'tenant', id: { detail: 'target.id' }, description: "An administrator deleted a tenant (soft); its sessions were ended." },
  'admin.platform_settings.update': { resource: 'platform', id: null, description: "A super administrator changed the defaults new tenants' settings start from." },
  'admin.user.create': { resource: 'user', id: 'user', description: 'An administrator created a user (with a password, or an invitation email).' },
  'admin.user.update': { resource: 'user', id: 'user', description: "An administrator changed a user's profile fields." },
  'admin.user.delete': { resource: 'user', id: 'user', description: 'An administrator deleted a user (soft; the email is free again); its sessions were ended.' },
  'admin.user.suspend': { resource: 'user', id: 'user', description: 'An administrator suspended a user; its sessions and tokens were ended.' },
  'admin.user.activate': { resource: 'user', id: 'user', description: 'An administrator activated a suspended user.' },
  'admin.user.password_reset': { resource: 'user', id: 'user', description: "An administrator set a user's password (sessions ended) or sent a reset link." },
  'admin.user.unlock': { resource: 'user', id: 'user', description: "An administrator cleared a user's sign-in lockout." },
  'user.mfa_reset': { resource: 'user', id: 'user', description: "An administrator removed every second factor of a user; its sessions were ended." },
  'admin.user.sessions_revoked': { resource: 'user', id: 'user', description: 'An administrator ended every session of a user.' },
  'admin.user.role_assigned': { resource: 'user', id: 'user', description: 'An administrator gave a user an admin role.' },
  'admin.user.role_removed': { resource: 'user', id: 'user', description: "An administrator removed a user's admin role." },
  'admin.session.revoke': { resource: 'session', id: { detail: 'session_id' }, description: 'An administrator ended a session (and the app sessions it signed in).' },
  'admin.session.revoke_all': { resource: 'user', id: { detail: 'user_id' }, description: "An administrator ended every session of a user, or of a tenant's users (then the resource is the tenant)." },
} as const satisfies Record<string, ActionSpec>;

export type AuditAction = keyof typeof actions;

export function isKnownAction(type: string): type is AuditAction {
  return Object.hasOwn(actions, type);
}

/** The catalogue as the API lists it, sorted by action. */
export function actionCatalogue(): Array<{ action: string; resource_type: string; description: string }> {
  return Object.entries(actions)
    .map(([action, spec]) => ({ action, resource_type: spec.resource as string, description: spec.description as string }))
    .sort((a, b) => a.action.localeCompare(b.action));
}

export function resourceTypeCatalogue(): Array<{ resource_type: string; description: string }> {
  return Object.entries(auditResourceTypes).map(([resource_type, description]) => ({ resource_type, description }));
}

function detailAt(details: Record<string, unknown>, path: string): unknown {
  let value: unknown = details;
  for (const key of path.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/**
 * The resource an entry of `type` is about, derived from what every caller records anyway (its
 * subject user, its details), for entries whose writer did not name it. Unknown types: an
 * `admin.<resource>.<verb>` names its resource type; anything else, none.
 */
export function deriveResource(type: string, event: { userPublicId: string | null; details: Record<string, unknown> }): { type: string | null; id: string | null } {
  if (!isKnownAction(type)) {
    const match = /^admin\.([a-z_]+)\./.exec(type);
    return { type: match ? match[1]! : null, id: null };
  }
  const spec: ActionSpec = actions[type];
  let id: string | null = null;
  if (spec.id === 'user') id = event.userPublicId;
  else if (spec.id) {
    const value = detailAt(event.details, spec.id.detail);
    if (typeof value === 'string') id = spec.id.kind === 'session' && /^[0-9a-f]{24}$/.test(value) ? `ses_${value}` : value;
  }
  return { type: spec.resource, id };
}
