// Seed data for the contract run: created through the same domain services the admin CLI uses,
// then signed in through the real API so the tokens are the ones clients get.
import type { ObjectId } from 'mongodb';
import { decodeJwt } from 'jose';
import { tenantPublicId, userPublicId } from '../../handlers/core/public-ids.ts';
import { generate } from 'otplib';
import type { RunningServer } from '../../handlers/compose.ts';
import type { UserDoc } from '../../handlers/store/users.ts';

export const SEED_PASSWORD = 'correct horse battery staple';

export interface SeedData {
  tenantSlugs: string[];
  tenantIds: string[];
  /** No MFA: Schemathesis signs in as this user (dynamic bearer auth through /api/v1/auth/login). */
  plainUser: { id: string; email: string; password: string };
  /** TOTP and backup codes enrolled. */
  mfaUser: { id: string; email: string; password: string; backupCodes: string[] };
  /** The same email in two tenants: needs tenant_id. */
  multiTenantEmail: string;
  /** Made by signing in through the API. */
  accessToken: string;
  refreshTokens: string[];
  flowTokens: string[];
  mfaTokens: string[];
  totpCode: string;
}

interface Counts {
  refreshTokens: number;
  flowTokens: number;
  mfaTokens: number;
}

async function post(url: string, path: string, body: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`seeding: POST ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

export async function seed(server: RunningServer, counts: Counts = { refreshTokens: 30, flowTokens: 60, mfaTokens: 60 }): Promise<SeedData> {
  const { domain: services, database, url } = server;
  const acme = await services.tenants.create({
    slug: 'acme',
    name: 'Acme Corporation',
    settings: {
      self_registration: true,
      require_email_verification: false,
      mfa_methods: ['totp', 'email', 'webauthn', 'backup_code'],
      allowed_redirect_uris: ['https://app.example.com/callback'],
    },
  });
  const globex = await services.tenants.create({ slug: 'globex', name: 'Globex', settings: { require_email_verification: false } });

  const newUser = (tenant: typeof acme, email: string, firstName: string, lastName: string) =>
    services.users.create({ tenant, email, password: SEED_PASSWORD, firstName, lastName, emailVerified: true, status: 'active' });

  const ada = await newUser(acme, 'ada@example.com', 'Ada', 'Lovelace');
  const grace = await newUser(acme, 'grace@example.com', 'Grace', 'Hopper');
  await newUser(acme, 'multi@example.com', 'Multi', 'Acme');
  await newUser(globex, 'multi@example.com', 'Multi', 'Globex');

  const secret = await enrolTotp(server, grace._id);
  const backup = services.backupCodes.generate();
  await database.users.replaceBackupCodes(grace._id, backup.stored, new Date());

  // Through the API, as a client would.
  const logins = [];
  for (let i = 0; i < counts.refreshTokens; i++) logins.push(await post(url, '/api/v1/auth/login', { email: ada.email, password: SEED_PASSWORD }));
  const flowTokens: string[] = [];
  const identifyEmails = [ada.email, grace.email, 'multi@example.com'];
  for (let i = 0; i < counts.flowTokens; i++) flowTokens.push((await post(url, '/api/v1/auth/identify', { email: identifyEmails[i % identifyEmails.length] })).flow_token);
  const mfaTokens: string[] = [];
  for (let i = 0; i < counts.mfaTokens; i++) {
    const flow = await post(url, '/api/v1/auth/identify', { email: grace.email });
    const challenge = await post(url, '/api/v1/auth/authenticate', { flow_token: flow.flow_token, password: SEED_PASSWORD });
    if (challenge.status !== 'MFA_REQUIRED') throw new Error(`seeding: expected MFA_REQUIRED for ${grace.email}, got ${JSON.stringify(challenge)}`);
    mfaTokens.push(challenge.mfa_token);
  }

  return {
    tenantSlugs: [acme.slug, globex.slug],
    tenantIds: [acme._id.toHexString(), globex._id.toHexString()],
    plainUser: { id: ada._id.toHexString(), email: ada.email, password: SEED_PASSWORD },
    mfaUser: { id: grace._id.toHexString(), email: grace.email, password: SEED_PASSWORD, backupCodes: backup.plain },
    multiTenantEmail: 'multi@example.com',
    accessToken: logins[0].access_token,
    refreshTokens: logins.map((l) => l.refresh_token as string),
    flowTokens,
    mfaTokens,
    totpCode: await generate({ secret, epoch: Math.floor(services.clock.now().getTime() / 1000) }),
  };
}

/** As test/integration/portal-auth.test.ts does: a confirmed TOTP enrolment. */
async function enrolTotp(server: RunningServer, userId: ObjectId): Promise<string> {
  const { domain: services, database } = server;
  const secret = services.totp.newSecret();
  // Straight into the document: enrolment through the API needs a live code exchange.
  await database.db.collection<UserDoc>('users').updateOne(
    { _id: userId },
    { $set: { 'mfa.totp': { secret_enc: services.totp.seal(userId.toHexString(), secret), confirmed_at: new Date(), last_step: 0 } } },
  );
  return secret;
}

/** The newest audit entry the caller sees; sign-ins are recorded in the background, so it waits a little. */
async function firstAuditEntry(url: string, token: string): Promise<string> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const response = await fetch(`${url}/api/v1/admin/audit/?per_page=1`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`seeding: GET /api/v1/admin/audit/ answered ${response.status}: ${text.slice(0, 500)}`);
    const id = (JSON.parse(text) as { items?: Array<{ id?: string }> }).items?.[0]?.id;
    if (id) return id;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('seeding: no audit entry appeared for the tenant admin');
}

export interface TenantAdminSide {
  name: string;
  tenantId: string;
  tenantOid: ObjectId;
  token: string;
  ids: Record<string, string>;
}

/**
 * For the object-level-authorization pass, made after fuzzing (which may suspend or delete what it
 * finds): two fresh tenants, each with a tenant admin signed in through the admin API, a member
 * with a live session, and a TENANT application.
 */
export async function seedTenantAdmins(server: RunningServer): Promise<[TenantAdminSide, TenantAdminSide]> {
  const { domain: services, url } = server;
  const suffix = Date.now().toString(36);
  const sides: TenantAdminSide[] = [];
  // A partner neither tenant belongs to: a tenant admin must get 403 for it, never its data.
  const partner = await services.partners.create({ name: 'OLA partner', slug: `ola-${suffix}` });
  for (const name of ['ola-a', 'ola-b']) {
    // Explicit settings: fuzzing the platform settings may have changed the defaults new tenants start from.
    const tenant = await services.tenants.create({ slug: `${name}-${suffix}`, name: name.toUpperCase(), settings: { require_email_verification: false, mfa_required: false, mfa_methods: ['totp', 'email', 'webauthn', 'backup_code'], lockout: null } });
    const newUser = (email: string) => services.users.create({ tenant, email, password: SEED_PASSWORD, firstName: 'Seed', lastName: name, emailVerified: true, status: 'active' });
    const admin = await newUser(`admin@${tenant.slug}.example`);
    await services.users.grantAdminRole(admin._id, 'tenant_admin');
    const member = await newUser(`member@${tenant.slug}.example`);
    const memberLogin = await post(url, '/api/v1/auth/login', { email: member.email, password: SEED_PASSWORD });
    const app = await services.applications.create({ name: `${name} service`, application_type: 'SERVICE', scope: 'TENANT', tenant_id: tenant._id, partner_id: null });
    const signedIn = await post(url, '/api/v1/admin/auth/login', { email: admin.email, password: SEED_PASSWORD });
    const token = signedIn.access_token as string;
    sides.push({
      name: `${name} tenant admin`,
      tenantId: tenantPublicId(tenant._id),
      tenantOid: tenant._id,
      token,
      ids: {
        tenant_id: tenantPublicId(tenant._id),
        user_id: userPublicId(member._id),
        session_id: String(decodeJwt(memberLogin.access_token).sid),
        application_id: app.application._id,
        partner_id: partner._id,
        // An entry of the tenant's audit log (the sign-ins above wrote some), as its admin sees it.
        entry_id: await firstAuditEntry(url, token),
      },
    });
  }
  return sides as [TenantAdminSide, TenantAdminSide];
}
