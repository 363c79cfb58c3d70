// Existing bcrypt hashes keep working after the move to Argon2id and are re-hashed at sign-in,
// only when nobody changed the password meanwhile.
import bcryptjs from 'bcryptjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser } from '../support/fixtures.ts';
import type { UserDoc } from '../../handlers/store/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const users = () => server.database.db.collection<UserDoc>('users');

async function storedHash(id: UserDoc['_id']): Promise<string> {
  return (await users().findOne({ _id: id }))!.password_hash!;
}

test('new accounts get Argon2id; a bcrypt account signs in and is upgraded to Argon2id', async () => {
  const tenant = await createTenant(server);
  const fresh = await createUser(server, tenant);
  expect(await storedHash(fresh.user._id)).toMatch(/^\$argon2id\$/);

  const legacy = await createUser(server, tenant);
  const bcryptHash = await bcryptjs.hash(legacy.password, 4);
  await users().updateOne({ _id: legacy.user._id }, { $set: { password_hash: bcryptHash } });

  const wrong = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email: legacy.email, password: 'not the password at all' } });
  expect(wrong.status).toBe(401);
  expect(await storedHash(legacy.user._id)).toBe(bcryptHash);

  const login = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email: legacy.email, password: legacy.password } });
  expect(login.status).toBe(200);
  // The upgrade runs after the answer; give it a moment.
  let upgraded = bcryptHash;
  for (let i = 0; i < 50 && upgraded === bcryptHash; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    upgraded = await storedHash(legacy.user._id);
  }
  expect(upgraded).toMatch(/^\$argon2id\$/);
  const again = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email: legacy.email, password: legacy.password } });
  expect(again.status).toBe(200);
});

test('the upgrade never overwrites a password changed in the meantime', async () => {
  const tenant = await createTenant(server);
  const { user, password } = await createUser(server, tenant);
  const bcryptHash = await bcryptjs.hash(password, 4);
  await users().updateOne({ _id: user._id }, { $set: { password_hash: bcryptHash } });
  const reread = (await users().findOne({ _id: user._id }))!;
  // Someone sets a new password between the sign-in's read and its upgrade.
  await users().updateOne({ _id: user._id }, { $set: { password_hash: 'changed-elsewhere' } });
  await server.domain.users.upgradeHash(reread, password);
  expect(await storedHash(user._id)).toBe('changed-elsewhere');
});
