import { randomBytes } from 'node:crypto';
import type { Tenants } from './tenants.ts';
import type { Users } from '../users/users.ts';

/**
 * First start on an empty development database: a `demo` tenant with self-registration and a
 * verified demo user, so a new user can sign in at once. Never called in production.
 */
export async function seedDemoIfEmpty(
  services: { tenants: Tenants; users: Users },
  options: { password?: string | undefined; log: (msg: string) => void; print: (msg: string) => void },
): Promise<boolean> {
  if (await services.tenants.any()) return false;
  const tenant = await services.tenants.create({
    slug: 'demo',
    name: 'Demo',
    settings: { self_registration: true, allowed_redirect_uris: ['http://localhost:3000/callback'] },
  });
  const password = options.password ?? randomBytes(12).toString('base64url');
  await services.users.create({ tenant, email: 'demo@example.com', password, firstName: 'Demo', lastName: 'User', emailVerified: true });
  options.log('seeded tenant "demo" and user demo@example.com');
  if (!options.password) options.print(`\n  Demo sign-in: demo@example.com / ${password}\n  (shown once; set SCAIKEY_DEMO_PASSWORD to choose it)\n`);
  return true;
}
