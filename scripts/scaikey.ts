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
import { checkPassword } from '../handlers/domain/passwords/password-policy.ts';
import { InvalidInput } from '../handlers/core/errors.ts';
import type { TenantSettings } from '../handlers/store/tenants.ts';
import type { UserStatus } from '../handlers/store/users.ts';
import type { Mailer } from '../handlers/domain/mail/mailer.ts';
import { startLocalMongo } from './local-mongo.ts';

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

function settingsFrom(opts: Record<string, unknown>): Partial<TenantSettings> {
  const settings: Partial<TenantSettings> = {};
  if (opts.selfRegistration !== undefined) settings.self_registration = opts.selfRegistration as boolean;
  if (opts.requireVerification !== undefined) settings.require_email_verification = opts.requireVerification as boolean;
  if (opts.mfaRequired !== undefined) settings.mfa_required = opts.mfaRequired as boolean;
  if (opts.mfaMethods !== undefined) settings.mfa_methods = opts.mfaMethods as TenantSettings['mfa_methods'];
  if (opts.redirectUris !== undefined) settings.allowed_redirect_uris = opts.redirectUris as string[];
  if (opts.minPasswordLength !== undefined) settings.password_policy = { min_length: opts.minPasswordLength as number, max_length: 128, block_common: true };
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

tenantSettingOptions(tenant.command('create').argument('<slug>').requiredOption('--name <name>', 'display name')).action(async (slug: string, opts) => {
  await withServices(async (s) => {
    const created = await s.tenants.create({ slug, name: opts.name, settings: settingsFrom(opts) });
    print({ id: created._id.toHexString(), slug: created.slug, name: created.name, settings: created.settings });
  });
});

tenant.command('list').action(async () => {
  await withServices(async (s) => {
    console.table((await s.tenants.list()).map((t) => ({ id: t._id.toHexString(), slug: t.slug, name: t.name, status: t.status })));
  });
});

tenantSettingOptions(tenant.command('update').argument('<slug>').option('--name <name>').option('--status <status>', 'active or disabled')).action(async (slug: string, opts) => {
  await withServices(async (s) => {
    if (opts.status && !['active', 'disabled'].includes(opts.status)) throw new InvalidArgumentError('status must be active or disabled');
    const updated = await s.tenants.update(slug, { name: opts.name, status: opts.status, settings: settingsFrom(opts) });
    print({ id: updated._id.toHexString(), slug: updated.slug, name: updated.name, status: updated.status, settings: updated.settings });
  });
});

const user = program.command('user').description('create, list and update users');

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
      const t = await s.tenants.requireActiveBySlug(opts.tenant);
      const password = opts.password ?? process.env.SCAIKEY_NEW_PASSWORD ?? null;
      if (password) checkPassword(password, t.settings.password_policy, 'password', { email: opts.email });
      const created = await s.users.create({ tenant: t, email: opts.email, password, firstName: opts.firstName, lastName: opts.lastName, emailVerified: opts.verified });
      print({ id: created._id.toHexString(), tenant: t.slug, email: created.email, status: created.status, email_verified: created.email_verified });
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
      const t = await s.tenants.requireActiveBySlug(opts.tenant);
      const u = await s.users.findInTenant(t._id, opts.email);
      if (!u) throw new Error(`No user ${opts.email} in ${opts.tenant}`);
      const password = opts.password ?? process.env.SCAIKEY_NEW_PASSWORD;
      if (!password) throw new Error('Give --password or SCAIKEY_NEW_PASSWORD');
      checkPassword(password, t.settings.password_policy, 'password', { email: u.email });
      await s.users.setPassword(u._id, password);
      const ended = await s.sessions.revokeAllForUser(u._id, 'password set by admin');
      await s.trustedDevices.revokeAll(u._id);
      print({ id: u._id.toHexString(), password: 'updated', sessions_revoked: ended });
    });
  });

for (const [name, status] of [['disable', 'disabled'], ['enable', 'active']] as Array<[string, UserStatus]>) {
  user
    .command(name)
    .requiredOption('--tenant <slug>')
    .requiredOption('--email <email>')
    .action(async (opts) => {
      await withServices(async (s) => {
        const t = await s.tenants.requireActiveBySlug(opts.tenant);
        const u = await s.users.findInTenant(t._id, opts.email);
        if (!u) throw new Error(`No user ${opts.email} in ${opts.tenant}`);
        await s.users.setStatus(u._id, status);
        const ended = status === 'disabled' ? await s.sessions.revokeAllForUser(u._id, 'disabled by admin') : 0;
        print({ id: u._id.toHexString(), status, sessions_revoked: ended });
      });
    });
}

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
