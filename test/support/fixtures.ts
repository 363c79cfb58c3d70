import type { TenantSettings } from '../../handlers/store/tenants.ts';
import type { UserDoc } from '../../handlers/store/users.ts';
import type { TestServer } from './server.ts';

let counter = 0;

export const strongPassword = 'correct horse battery staple';

/** A tenant and users created through the same domain services the admin CLI uses. */
export async function createTenant(server: TestServer, settings: Partial<TenantSettings> = {}, name?: string) {
  counter += 1;
  const slug = `t${counter}-${Math.random().toString(36).slice(2, 8)}`;
  return server.domain.tenants.create({ slug, name: name ?? `Tenant ${counter}`, settings: { require_email_verification: false, ...settings } });
}

export async function createUser(
  server: TestServer,
  tenant: Awaited<ReturnType<typeof createTenant>>,
  overrides: { email?: string; password?: string; emailVerified?: boolean; status?: 'pending' | 'active' | 'locked' | 'disabled' } = {},
) {
  counter += 1;
  const email = overrides.email ?? `user${counter}.${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = overrides.password ?? strongPassword;
  const user = await server.domain.users.create({
    tenant,
    email,
    password,
    firstName: 'Test',
    lastName: `User${counter}`,
    emailVerified: overrides.emailVerified ?? true,
    status: overrides.status ?? 'active',
  });
  return { user, email, password };
}

/** TOTP enrolled straight in the database, for tests of sign-in (enrolment has its own tests). */
export async function enrolTotpDirectly(server: TestServer, userId: import('mongodb').ObjectId): Promise<string> {
  const secret = server.domain.totp.newSecret();
  await server.database.db.collection<UserDoc>('users').updateOne(
    { _id: userId },
    { $set: { 'mfa.totp': { secret_enc: server.domain.totp.seal(userId.toHexString(), secret), confirmed_at: new Date(), last_step: 0 } } },
  );
  return secret;
}
