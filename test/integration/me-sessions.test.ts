// The user's own sessions against the real server and database: GET /api/v1/me/sessions (live
// ones, `current` marked, no secrets), DELETE /api/v1/me/sessions/{id} (one's own; another user's
// → 404; the current one signs the token out), and the account page that shows them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function portalLogin(email: string) {
  const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { access_token: string; refresh_token: string };
}

const idsOf = (reply: { body: { items: Array<{ id: string }> } }) => reply.body.items.map((s) => s.id);

describe('my sessions', () => {
  test('lists my live sessions with current marked; revokes one of mine; another user\'s is 404', async () => {
    const tenant = await createTenant(server);
    const me = await createUser(server, tenant);
    const other = await createUser(server, tenant);
    const first = await portalLogin(me.email);
    const second = await portalLogin(me.email);
    const theirs = await portalLogin(other.email);
    const listed = await server.call('GET', '/api/v1/me/sessions', { token: second.access_token });
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(2);
    expect(listed.body.items.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const [current, older] = [listed.body.items.find((s: { current: boolean }) => s.current), listed.body.items.find((s: { current: boolean }) => !s.current)];
    expect(current).toMatchObject({ kind: 'portal', client_id: null });
    expect(JSON.stringify(listed.body)).not.toMatch(/hash|rt_/);

    const theirId = idsOf(await server.call('GET', '/api/v1/me/sessions', { token: theirs.access_token }))[0]!;
    expect((await server.call('DELETE', `/api/v1/me/sessions/${theirId}`, { token: second.access_token })).status).toBe(404);
    expect((await server.call('GET', '/api/v1/me', { token: theirs.access_token })).status).toBe(200);
    expect((await server.call('DELETE', `/api/v1/me/sessions/${'x'.repeat(65)}`, { token: second.access_token })).status).toBe(422);

    expect((await server.call('DELETE', `/api/v1/me/sessions/${older.id}`, { token: second.access_token })).status).toBe(204);
    expect((await server.call('GET', '/api/v1/me', { token: first.access_token })).status).toBe(401);
    expect((await server.call('DELETE', `/api/v1/me/sessions/${older.id}`, { token: second.access_token })).status).toBe(404);
    expect(idsOf(await server.call('GET', '/api/v1/me/sessions', { token: second.access_token }))).toEqual([current.id]);
    // Ending the current one signs this token out.
    expect((await server.call('DELETE', `/api/v1/me/sessions/${current.id}`, { token: second.access_token })).status).toBe(204);
    expect((await server.call('GET', '/api/v1/me/sessions', { token: second.access_token })).status).toBe(401);
    const audit = await server.database.db.collection('audit_events').countDocuments({ type: 'session.revoke', user_id: me.user._id });
    expect(audit).toBe(2);
  });

  test('the account page has the sessions list its script fills from /api/v1/me/sessions', async () => {
    const page = await fetch(`${server.url}/portal/account`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('id="signin-list"');
    expect(text).toContain('href="#signins"');
    const script = await (await fetch(`${server.url}${/src="([^"]*portal-account[^"]*)"/.exec(text)![1]}`)).text();
    expect(script).toContain('/api/v1/me/sessions');
    // Text nodes only (no innerHTML): user agents and addresses cannot inject markup.
    expect(script).not.toContain('innerHTML');
  });
});
