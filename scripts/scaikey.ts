#!/usr/bin/env -S node --import tsx
/**
 * Admin CLI: tenants and users against the configured database (MONGODB_URI, or the embedded
 * default in SCAIKEY_DATA_DIR). Built on commander; every command prints JSON or a table.
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../handlers/core/config.ts';
import { createLogger } from '../handlers/core/logger.ts';
import { Database } from '../handlers/store/database.ts';
import { migrate } from '../handlers/store/migrations.ts';
import { composeDomain, type Domain } from '../handlers/compose.ts';
import { InvalidInput } from '../handlers/core/errors.ts';
import type { TenantSettingsInput } from '../handlers/domain/admin/tenant-admin.ts';
import { partnerIdPattern } from '../handlers/core/public-ids.ts';
import type { UserStatus } from '../handlers/store/users.ts';
import type { Mailer } from '../handlers/domain/mail/mailer.ts';
import { startLocalMongo } from './local-mongo.ts';
import { randomUUID } from 'node:crypto';
import type { AdminActor } from '../handlers/domain/admin/admin-access.ts';
import { adminRoleNames } from '../handlers/domain/admin/admin-roles.ts';

const silentMailer: Mailer = { send: async () => undefined };

async function withServices<T>(work: (domain: Domain) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  let stop: (() => Promise<void>) | undefined;
  let uri = config.MONGODB_URI;
  if (!uri) {
    // Beside a running `npm start`, the CLI uses that server's database (the directory has one owner).
    const local = await startLocalMongo({ dataDir: config.SCAIKEY_DATA_DIR, persistent: true, shareRunning: true, log: () => undefined });
    uri = local.uri;
    stop = local.stop;
  }
  const database = await Database.connect(uri, config.MONGODB_DB);
  try {
    await migrate(database);
    // The CLI sends no mail: admin-created accounts are told out of band.
    return await work(composeDomain(database, config, logger, { mailer: silentMailer }));
  } finally {
    await database.close();
    await stop?.();
  }
}

const bool = (value: string): boolean => {
  if (['true', 'yes', 'on', '1'].includes(value)) return true;
  if (['false', 'no', 'off', '0'].includes(value)) return false;
  throw new InvalidArgumentError('expected true or false');
};
const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};
const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

function settingsFrom(opts: Record<string, unknown>): TenantSettingsInput {
  const settings: TenantSettingsInput = {};
  if (opts.selfRegistration !== undefined) settings.self_registration = opts.selfRegistration as boolean;
  if (opts.requireVerification !== undefined) settings.require_email_verification = opts.requireVerification as boolean;
  if (opts.mfaRequired !== undefined) settings.mfa_required = opts.mfaRequired as boolean;
  if (opts.mfaMethods !== undefined) settings.mfa_methods = opts.mfaMethods as TenantSettingsInput['mfa_methods'];
  if (opts.redirectUris !== undefined) settings.allowed_redirect_uris = opts.redirectUris as string[];
  if (opts.minPasswordLength !== undefined) settings.password_policy = { min_length: opts.minPasswordLength as number };
  return settings;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

const program = new Command()
  .name('scaikey')
  .description('ScaiKey admin CLI: manage tenants and users in the configured database')
  .showHelpAfterError();

const tenant = program.command('tenant').description('create, list and update tenants');
const tenantSettingOptions = (cmd: Command) =>
  cmd
    .option('--self-registration <bool>', 'allow self-registration', bool)
    .option('--require-verification <bool>', 'require a verified email before sign-in', bool)
    .option('--mfa-required <bool>', 'require a second factor', bool)
    .option('--mfa-methods <list>', 'allowed MFA methods (totp,email,webauthn,backup_code)', list)
    .option('--redirect-uris <list>', 'allowed redirect URIs, comma-separated', list)
    .option('--min-password-length <n>', 'minimum password length', positiveInt);

// The CLI acts as a super admin (an operator with database access), through the same admin
// services and rules as the admin API (TenantAdmin, ApplicationAdmin); every write is audited as `cli`.
const cliActor: AdminActor = {
  kind: 'client',
  clientId: 'scaikey-cli',
  reach: { kind: 'platform' },
  principal: { kind: 'client', clientId: 'scaikey-cli', scopes: ['admin:read', 'admin:write'], platformToken: true, appScope: 'GLOBAL', tenantId: null, partnerId: null, tokenId: 'cli', expiresAt: 0, token: '' },
};
const cliRequest = () => ({ clientIp: 'cli', userAgent: 'scaikey-cli', requestId: `cli-${randomUUID()}` });

tenantSettingOptions(tenant.command('create').argument('<slug>').requiredOption('--name <name>', 'display name').option('--partner <id>', 'the partner (prt_…) the tenant belongs to').option('--contact-email <email>')).action(async (slug: string, opts) => {
  await withServices(async (s) => {
    if (opts.partner && !partnerIdPattern.test(opts.partner)) throw new InvalidArgumentError('partner must be a partner id (prt_…)');
    const created = await s.tenantAdmin.create(cliActor, { slug, name: opts.name, partner_id: opts.partner ?? null, contact_email: opts.contactEmail ?? null, settings: settingsFrom(opts) }, cliRequest());
    print(created);
  });
});

tenant.command('list').action(async () => {
  await withServices(async (s) => {
    const rows = [];
    for (let page = 1; ; page++) {
      const listed = await s.tenantAdmin.list(cliActor, { page, perPage: 100 });
      rows.push(...listed.items.map((t) => ({ id: t.id, slug: t.slug, name: t.name, status: t.status, partner_id: t.partner_id })));
      if (page * 100 >= listed.total) break;
    }
    console.table(rows);
  });
});

tenantSettingOptions(tenant.command('update').argument('<slug>').option('--name <name>').option('--slug <new-slug>', 'rename the slug').option('--status <status>', 'active or suspended').option('--contact-email <email>').option('--partner <id>', 'the partner (prt_…) the tenant belongs to; "none" for none')).action(async (slug: string, opts) => {
  await withServices(async (s) => {
    const status = opts.status === 'disabled' ? 'suspended' : opts.status;
    if (status && !['active', 'suspended'].includes(status)) throw new InvalidArgumentError('status must be active or suspended');
    if (opts.partner && opts.partner !== 'none' && !partnerIdPattern.test(opts.partner)) throw new InvalidArgumentError('partner must be a partner id (prt_…) or none');
    const partnerId = opts.partner === undefined ? undefined : opts.partner === 'none' ? null : opts.partner;
    const settings = settingsFrom(opts);
    const patch = {
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.slug !== undefined ? { slug: opts.slug } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(opts.contactEmail !== undefined ? { contact_email: opts.contactEmail } : {}),
      ...(partnerId !== undefined ? { partner_id: partnerId } : {}),
      ...(Object.keys(settings).length > 0 ? { settings } : {}),
    };
    print(await s.tenantAdmin.update(cliActor, await s.tenantAdmin.idOfSlug(slug), patch, cliRequest()));
  });
});

tenant.command('delete').argument('<slug>').description('soft delete: sessions end, the tenant is gone everywhere').action(async (slug: string) => {
  await withServices(async (s) => {
    await s.tenantAdmin.remove(cliActor, await s.tenantAdmin.idOfSlug(slug), cliRequest());
    print({ deleted: slug });
  });
});

const user = program.command('user').description('create, list and update users');

// Users: create, set-password, disable (suspend), enable (activate) and unlock go through the
// admin API's UserAdmin service as a super admin (cliActor below), so the CLI has the same rules,
// the same conditional writes and the same audit entries; no second implementation.
async function userIdOf(s: Domain, slug: string, email: string): Promise<string> {
  const t = await s.tenants.requireActiveBySlug(slug, { includePlatform: true });
  const u = await s.users.findInTenant(t._id, email);
  if (!u || u.deleted_at) throw new Error(`No user ${email} in ${slug}`);
  return u._id.toHexString();
}

user
  .command('create')
  .requiredOption('--tenant <slug>')
  .requiredOption('--email <email>')
  .option('--password <password>', 'initial password (or SCAIKEY_NEW_PASSWORD)')
  .option('--first-name <name>')
  .option('--last-name <name>')
  .option('--verified', 'mark the email as verified', false)
  .action(async (opts) => {
    await withServices(async (s) => {
      const t = await s.tenants.requireActiveBySlug(opts.tenant, { includePlatform: true });
      const password = opts.password ?? process.env.SCAIKEY_NEW_PASSWORD ?? null;
      const created = await s.userAdmin.create(cliActor, {
        tenant_id: t._id.toHexString(), email: opts.email, password, first_name: opts.firstName ?? null, last_name: opts.lastName ?? null, email_verified: opts.verified,
      }, cliRequest());
      print({ id: created.id, tenant: t.slug, email: created.email, status: created.status, email_verified: created.email_verified });
    });
  });

user
  .command('list')
  .requiredOption('--tenant <slug>')
  .action(async (opts) => {
    await withServices(async (s) => {
      const t = await s.tenants.requireActiveBySlug(opts.tenant);
      console.table((await s.users.listInTenant(t._id)).map((u) => ({ id: u._id.toHexString(), email: u.email, status: u.status, verified: u.email_verified })));
    });
  });

user
  .command('set-password')
  .requiredOption('--tenant <slug>')
  .requiredOption('--email <email>')
  .option('--password <password>', 'new password (or SCAIKEY_NEW_PASSWORD)')
  .action(async (opts) => {
    await withServices(async (s) => {
      const id = await userIdOf(s, opts.tenant, opts.email);
      const password = opts.password ?? process.env.SCAIKEY_NEW_PASSWORD;
      if (!password) throw new Error('Give --password or SCAIKEY_NEW_PASSWORD');
      const result = await s.userAdmin.resetPassword(cliActor, id, { password }, cliRequest());
      print({ id, password: 'updated', sessions_revoked: result.sessions_revoked });
    });
  });

for (const [name, action] of [['disable', 'suspend'], ['enable', 'activate'], ['unlock', 'unlock']] as const) {
  user
    .command(name)
    .description(name === 'disable' ? 'suspend the user (ends its sessions)' : name === 'enable' ? 'activate the user' : 'clear the lockout')
    .requiredOption('--tenant <slug>')
    .requiredOption('--email <email>')
    .action(async (opts) => {
      await withServices(async (s) => {
        const id = await userIdOf(s, opts.tenant, opts.email);
        const updated = await s.userAdmin[action](cliActor, id, cliRequest());
        print({ id: updated.id, status: updated.status, locked_until: updated.locked_until });
      });
    });
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

async function tenantIdOf(s: Domain, slug: string | undefined): Promise<string | undefined> {
  return slug ? (await s.tenants.requireActiveBySlug(slug))._id.toHexString() : undefined;
}

const app = program.command('app').description('register and manage OAuth applications');

app
  .command('create')
  .requiredOption('--name <name>')
  .requiredOption('--type <type>', 'WEB, SERVICE, SPA or NATIVE')
  .requiredOption('--scope <scope>', 'GLOBAL, PARTNER or TENANT')
  .option('--tenant <slug>', 'owning tenant (TENANT apps)')
  .option('--partner <id>', 'owning partner, prt_… (PARTNER apps)')
  .option('--description <text>')
  .option('--redirect-uri <uri>', 'redirect URI (repeatable)', collect)
  .option('--post-logout-redirect-uri <uri>', 'post-logout redirect URI (repeatable)', collect)
  .option('--allowed-scope <scope>', 'allowed scope (repeatable; replaces the default list)', collect)
  .option('--origin <origin>', 'allowed CORS origin (repeatable)', collect)
  .option('--token-lifetime <seconds>', 'access token lifetime', positiveInt)
  .option('--skip-consent', 'first-party app: no consent page')
  .option('--id-token-alg <alg>', 'RS256 or ES256')
  .action(async (opts) => {
    await withServices(async (s) => {
      const { application, clientSecret } = await s.applicationAdmin.create(cliActor, {
        name: opts.name,
        description: opts.description,
        application_type: opts.type,
        scope: opts.scope,
        tenant_id: await tenantIdOf(s, opts.tenant),
        partner_id: opts.partner,
        redirect_uris: opts.redirectUri,
        post_logout_redirect_uris: opts.postLogoutRedirectUri,
        allowed_scopes: opts.allowedScope,
        allowed_origins: opts.origin,
        token_lifetime: opts.tokenLifetime,
        skip_consent: opts.skipConsent,
        id_token_signed_response_alg: opts.idTokenAlg,
      }, cliRequest());
      // The secret is shown this once, as in the API.
      print({ ...application, client_secret: clientSecret });
    });
  });

app
  .command('list')
  .option('--tenant <slug>')
  .option('--partner <id>')
  .option('--scope <scope>')
  .option('--type <type>')
  .option('--search <text>')
  .option('--page <n>', 'page', positiveInt, 1)
  .option('--per-page <n>', 'per page', positiveInt, 100)
  .action(async (opts) => {
    await withServices(async (s) => {
      print(await s.applicationAdmin.list(cliActor, {
        page: opts.page, perPage: Math.min(opts.perPage, 100), tenantId: await tenantIdOf(s, opts.tenant), partnerId: opts.partner, scope: opts.scope, applicationType: opts.type, search: opts.search,
      }));
    });
  });

app
  .command('update')
  .argument('<application_id>')
  .option('--name <name>')
  .option('--description <text>')
  .option('--redirect-uri <uri>', 'redirect URI (repeatable; replaces the list)', collect)
  .option('--post-logout-redirect-uri <uri>', 'post-logout redirect URI (repeatable; replaces the list)', collect)
  .option('--allowed-scope <scope>', 'allowed scope (repeatable; replaces the list)', collect)
  .option('--origin <origin>', 'allowed CORS origin (repeatable; replaces the list)', collect)
  .option('--token-lifetime <seconds>', 'access token lifetime', positiveInt)
  .option('--skip-consent <bool>', 'first-party app: no consent page', bool)
  .option('--id-token-alg <alg>', 'RS256 or ES256')
  .option('--status <status>', 'active or suspended')
  .action(async (id: string, opts) => {
    await withServices(async (s) => {
      print(await s.applicationAdmin.update(cliActor, id, {
        name: opts.name,
        description: opts.description,
        redirect_uris: opts.redirectUri,
        post_logout_redirect_uris: opts.postLogoutRedirectUri,
        allowed_scopes: opts.allowedScope,
        allowed_origins: opts.origin,
        token_lifetime: opts.tokenLifetime,
        skip_consent: opts.skipConsent,
        id_token_signed_response_alg: opts.idTokenAlg,
        status: opts.status,
      }, cliRequest()));
    });
  });

app
  .command('delete')
  .argument('<application_id>')
  .action(async (id: string) => {
    await withServices(async (s) => {
      await s.applicationAdmin.remove(cliActor, id, cliRequest());
      print({ id, deleted: true });
    });
  });

app
  .command('rotate-secret')
  .argument('<application_id>')
  .action(async (id: string) => {
    await withServices(async (s) => {
      const { application, clientSecret } = await s.applicationAdmin.rotateSecret(cliActor, id, cliRequest());
      print({ ...application, client_secret: clientSecret });
    });
  });

const admin = program.command('admin').description('administrator roles');

admin
  .command('grant-role')
  .requiredOption('--tenant <slug>', 'the tenant the account lives in (platform for the platform tenant)')
  .requiredOption('--email <email>')
  .requiredOption('--role <role>', 'super_admin, partner_admin or tenant_admin (tenant_admin: of that tenant)')
  .option('--partner <id>', 'the partner of a partner_admin (prt_…)')
  .action(async (opts) => {
    await withServices(async (s) => {
      if (!adminRoleNames.includes(opts.role)) throw new InvalidArgumentError('role must be super_admin, partner_admin or tenant_admin');
      const t = await s.tenants.requireActiveBySlug(opts.tenant, { includePlatform: true });
      const u = await s.users.findInTenant(t._id, opts.email);
      if (!u) throw new Error(`No user ${opts.email} in ${opts.tenant}`);
      const updated = await s.users.grantAdminRole(u._id, opts.role, opts.partner ?? null);
      await s.audit.record({ type: 'admin.role.granted', outcome: 'success', tenantId: t._id, userId: u._id, clientIp: 'cli', userAgent: 'scaikey-cli', details: { role: opts.role, partner_id: opts.partner ?? null } });
      print({ id: u._id.toHexString(), tenant: t.slug, email: u.email, role: updated.admin?.role, partner_id: updated.admin?.partner_id ?? null });
    });
  });

admin
  .command('revoke-role')
  .requiredOption('--tenant <slug>')
  .requiredOption('--email <email>')
  .action(async (opts) => {
    await withServices(async (s) => {
      const t = await s.tenants.requireActiveBySlug(opts.tenant, { includePlatform: true });
      const u = await s.users.findInTenant(t._id, opts.email);
      if (!u) throw new Error(`No user ${opts.email} in ${opts.tenant}`);
      const revoked = await s.users.revokeAdminRole(u._id);
      if (revoked) await s.audit.record({ type: 'admin.role.revoked', outcome: 'success', tenantId: t._id, userId: u._id, clientIp: 'cli', userAgent: 'scaikey-cli' });
      print({ id: u._id.toHexString(), revoked });
    });
  });

program
  .command('rotate-keys')
  .description('generate a new signing key; older keys stay published until their tokens expire')
  .action(async () => {
    await withServices(async (s) => print({ kid: await s.signingKeys.rotate() }));
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof InvalidInput) console.error(error.problems.map((p) => `${p.field}: ${p.reason}`).join('\n'));
  else console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
