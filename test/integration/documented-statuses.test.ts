// Every status an operation really gives is documented in the spec:
// - the audit table below (operationId → the catalogue errors its handler, its domain code and
//   the HTTP edge can answer with) is checked against the loaded spec: each one's status, a named
//   example with the catalogue's exact detail, Retry-After where it applies, and 503 through the
//   one shared ServiceUnavailable response. A new operation fails here until it is audited.
// - refusals are reached through the real server, so VALIDATE_RESPONSES (an undocumented 4xx or
//   503 becomes a 500 with X-Contract-Violation in tests) proves the spec documents them, and
//   every operation is called while the database is lost.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorCatalogue, type ErrorId } from '../../handlers/core/errors.ts';
import { mustBeDocumented } from '../../handlers/http/router.ts';
import { operationIds, protocolOperationIds, type OperationId } from '../../generated/operations.ts';
import type { HandledOperationId } from '../../handlers/core/operation-types.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, enrolTotpDirectly, strongPassword } from '../support/fixtures.ts';
import { examplesOf, operations, send, validRequest, type SpecOperation } from '../mocks/support.ts';

type Reachable = ErrorId | 'validation';

/**
 * What each operation's own code can refuse with (handlers/operations → handlers/domain). The
 * edge's own are added by `reachable()`: 401 on bearer operations, 413/415/422 with a body, 422
 * with parameters, and 503 everywhere (every operation reads the database: getJwks reloads its
 * key set every minute, bearer checks read the session).
 */
const audited: Record<HandledOperationId, Reachable[]> = {
  getProfile: [],
  updateProfile: ['validation'],
  changePassword: ['currentPasswordIncorrect', 'passwordReused', 'tooManyRequests', 'validation'],
  requestEmailVerification: ['tooManyRequests'],
  getMfaStatus: [],
  startTotpEnrolment: ['mfaMethodUnavailable', 'mfaAlreadyEnrolled', 'currentPasswordIncorrect', 'tooManyRequests'],
  removeTotp: ['notFound', 'currentPasswordIncorrect', 'mfaFactorRequired', 'tooManyRequests'],
  confirmTotpEnrolment: ['mfaMethodUnavailable', 'invalidEnrolmentCode'],
  enableEmailMfa: ['mfaMethodUnavailable', 'emailNotVerified', 'currentPasswordIncorrect', 'tooManyRequests'],
  disableEmailMfa: ['currentPasswordIncorrect', 'mfaFactorRequired', 'tooManyRequests'],
  getBackupCodesStatus: [],
  generateBackupCodes: ['mfaMethodUnavailable', 'currentPasswordIncorrect', 'tooManyRequests'],
  beginWebauthnRegistration: ['mfaMethodUnavailable', 'currentPasswordIncorrect', 'tooManyRequests'],
  completeWebauthnRegistration: ['mfaMethodUnavailable', 'webauthnRegistrationFailed', 'mfaAlreadyEnrolled', 'validation'],
  listWebauthnCredentials: [],
  renameWebauthnCredential: ['notFound', 'validation'],
  removeWebauthnCredential: ['notFound', 'currentPasswordIncorrect', 'mfaFactorRequired', 'tooManyRequests'],
  listTrustedDevices: [],
  revokeAllTrustedDevices: [],
  revokeTrustedDevice: ['notFound'],
  listSecurityEvents: [],
  forgotPassword: ['tenantNotFound', 'redirectUriNotAllowed', 'tooManyRequests'],
  passwordForgot: ['tenantNotFound', 'redirectUriNotAllowed', 'tooManyRequests'],
  tenantLogin: ['tenantNotFound', 'invalidCredentials', 'emailNotVerified', 'mfaMethodUnavailable', 'tooManyRequests'],
  sendEmailMfa: ['tenantNotFound', 'invalidCode', 'mfaMethodUnavailable', 'tooManyRequests'],
  verifyMfa: ['tenantNotFound', 'invalidCode', 'tooManyRequests'],
  beginWebauthnAuth: ['tenantNotFound', 'invalidCode', 'mfaMethodUnavailable', 'tooManyRequests'],
  resetPassword: ['tenantNotFound', 'invalidLinkToken', 'validation'],
  register: ['tenantNotFound', 'registrationDisabled', 'redirectUriNotAllowed', 'captchaFailed', 'tooManyRequests', 'userLimitReached', 'validation'],
  verifyEmail: ['tenantNotFound', 'invalidLinkToken'],
  authenticateUser: ['flowExpired', 'tenantSelectionRequired', 'mfaMethodUnavailable', 'invalidCredentials', 'emailNotVerified', 'tooManyRequests'],
  identifyUser: ['tooManyRequests'],
  portalLogin: ['tenantSelectionRequired', 'mfaMethodUnavailable', 'invalidCredentials', 'emailNotVerified', 'mfaRequiredUseTwoStep', 'tooManyRequests'],
  portalLogout: [],
  portalMfaVerify: ['invalidCode', 'tooManyRequests'],
  portalRefresh: ['invalidRefreshToken'],
  getJwks: [],
  adminLogin: ['tenantSelectionRequired', 'mfaMethodUnavailable', 'invalidCredentials', 'emailNotVerified', 'tooManyRequests'],
  adminLogout: ['adminRequired'],
  adminMe: ['adminRequired'],
  adminRefresh: ['invalidRefreshToken'],
  listApplications: ['adminRequired', 'platformScopeRequired', 'validation'],
  createApplication: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'applicationLimitReached', 'validation'],
  getApplication: ['adminRequired', 'platformScopeRequired', 'notFound'],
  updateApplication: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'validation'],
  deleteApplication: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound'],
  regenerateApplicationSecret: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'validation'],
  getApplicationEndpoints: ['adminRequired', 'platformScopeRequired', 'notFound'],
  listAuthorizedApps: [],
  revokeAuthorizedApp: ['notFound', 'validation'],
  // Users admin API
  listUsers: ['adminRequired', 'platformScopeRequired', 'validation'],
  createUser: ['adminRequired', 'platformScopeRequired', 'notFound', 'userEmailTaken', 'userLimitReached', 'validation'],
  getIdentitySourceMismatches: ['adminRequired', 'platformScopeRequired', 'notFound'],
  getUser: ['adminRequired', 'platformScopeRequired', 'notFound'],
  updateUser: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'validation'],
  deleteUser: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'adminSelfAction'],
  suspendUser: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'adminSelfAction'],
  activateUser: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound'],
  resetUserPassword: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'userSuspended', 'adminSelfPassword', 'validation'],
  unlockUser: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound'],
  resetUserMfa: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'adminSelfMfa'],
  listUserSessions: ['adminRequired', 'platformScopeRequired', 'notFound'],
  revokeUserSessions: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound'],
  listUserSecurityEvents: ['adminRequired', 'platformScopeRequired', 'notFound'],
  assignUserAdminRole: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'adminSelfAction', 'validation'],
  removeUserAdminRole: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'adminSelfAction'],
  getUserMfa: ['adminRequired', 'platformScopeRequired', 'notFound'],
  // Partners, Tenants, Platform Settings (admin API).
  listPartners: ['adminRequired', 'platformScopeRequired', 'superAdminRequired', 'validation'],
  createPartner: ['adminRequired', 'platformScopeRequired', 'superAdminRequired', 'partnerSlugTaken', 'validation'],
  getPartner: ['adminRequired', 'platformScopeRequired', 'superAdminRequired', 'notFound', 'validation'],
  updatePartner: ['adminRequired', 'platformScopeRequired', 'superAdminRequired', 'notFound', 'partnerSlugTaken', 'validation'],
  deletePartner: ['adminRequired', 'platformScopeRequired', 'superAdminRequired', 'notFound', 'partnerHasTenants', 'validation'],
  listTenants: ['adminRequired', 'platformScopeRequired', 'validation'],
  createTenant: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'tenantSlugTaken', 'tenantLimitReached', 'validation'],
  getTenant: ['adminRequired', 'platformScopeRequired', 'notFound', 'validation'],
  updateTenant: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'tenantSlugTaken', 'tenantLimitReached', 'validation'],
  deleteTenant: ['adminRequired', 'platformScopeRequired', 'adminOutOfReach', 'notFound', 'validation'],
  getPlatformSettings: ['adminRequired', 'platformScopeRequired', 'superAdminRequired', 'validation'],
  updatePlatformSettings: ['adminRequired', 'platformScopeRequired', 'superAdminRequired', 'validation'],
  listSessions: ['adminRequired', 'platformScopeRequired'],
  revokeAllSessions: ['adminRequired', 'platformScopeRequired', 'notFound', 'validation'],
  getSession: ['adminRequired', 'platformScopeRequired', 'notFound'],
  revokeSession: ['adminRequired', 'platformScopeRequired', 'notFound'],
  listMySessions: [],
  revokeMySession: ['notFound'],
  listAuditLogs: ['adminRequired', 'platformScopeRequired', 'validation'],
  listAuditActions: ['adminRequired', 'platformScopeRequired'],
  listAuditResourceTypes: ['adminRequired', 'platformScopeRequired'],
  getAuditLog: ['adminRequired', 'platformScopeRequired', 'notFound'],
};

/** The OpenID provider's endpoints answer OAuth errors and pages, held to the spec by their own tests. */
const isProtocol = (id: string) => (protocolOperationIds as readonly string[]).includes(id);
const jsonOperations = () => operations.filter((o) => !isProtocol(o.operationId));

function reachable(op: SpecOperation): Reachable[] {
  const edge: Reachable[] = ['serviceUnavailable'];
  if (op.secured) edge.push('notAuthenticated', 'invalidToken');
  if (op.operation.requestBody) edge.push('payloadTooLarge', 'unsupportedMediaType', 'validation');
  if (op.parameters.length > 0) edge.push('validation');
  return [...new Set([...audited[op.operationId as HandledOperationId], ...edge])];
}

const opById = (id: OperationId): SpecOperation => operations.find((o) => o.operationId === id)!;

describe('the audit table against the spec', () => {
  test('covers every operation of the spec, and only those', () => {
    expect(Object.keys(audited).sort()).toEqual(jsonOperations().map((o) => o.operationId).sort());
    expect(Object.keys(audited).sort()).toEqual([...operationIds].filter((id) => !isProtocol(id)).sort());
  });

  test.each(jsonOperations().map((op) => [op.operationId, op] as const))('%s documents every status it can answer, with the catalogue text', (_id, op) => {
    const missing: string[] = [];
    for (const id of reachable(op)) {
      const status = id === 'validation' ? 422 : errorCatalogue[id].status;
      const response = op.responses.find(([s]) => s === status)?.[1];
      if (!response) {
        missing.push(`${status} (${id})`);
        continue;
      }
      if (id === 'validation') {
        if (op.operation.responses['422'].$ref !== '#/components/responses/ValidationFailed') missing.push('422 through ValidationFailed');
        continue;
      }
      if (!examplesOf(response).some((e) => JSON.stringify(e.value) === JSON.stringify({ detail: errorCatalogue[id].detail }))) {
        missing.push(`${status} example "${errorCatalogue[id].detail}" (${id})`);
      }
      if ((status === 429 || status === 503) && !response.headers?.['Retry-After']) missing.push(`${status} Retry-After header`);
      if (status === 503 && op.operation.responses['503'].$ref !== '#/components/responses/ServiceUnavailable') missing.push('503 through ServiceUnavailable');
    }
    expect(missing, `${op.operationId} lacks`).toEqual([]);
  });

  test('the contract check holds 503 to the spec; other server faults stay exempt', () => {
    expect([200, 400, 401, 404, 422, 429, 503].every(mustBeDocumented)).toBe(true);
    expect([500, 501, 502, 504].some(mustBeDocumented)).toBe(false);
  });
});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const detail = (id: keyof typeof errorCatalogue) => ({ detail: errorCatalogue[id].detail });

async function identify(email: string): Promise<string> {
  const reply = await server.call('POST', '/api/v1/auth/identify', { body: { email } });
  expect(reply.status).toBe(200);
  return reply.body.flow_token as string;
}

describe('an address with accounts in several tenants, no tenant chosen', () => {
  let email: string;
  beforeAll(async () => {
    email = `shared.${Date.now()}@example.com`;
    await createUser(server, await createTenant(server), { email });
    await createUser(server, await createTenant(server), { email });
  });

  test('portalLogin: 400 Please select a tenant to continue', async () => {
    const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect([reply.status, reply.body, reply.headers.get('x-contract-violation')]).toEqual([400, detail('tenantSelectionRequired'), null]);
  });

  test('authenticateUser: 400 Please select a tenant to continue', async () => {
    const reply = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: await identify(email), password: strongPassword } });
    expect([reply.status, reply.body, reply.headers.get('x-contract-violation')]).toEqual([400, detail('tenantSelectionRequired'), null]);
  });
});

describe('a tenant that requires verified addresses, an unverified account', () => {
  let email: string;
  let slug: string;
  beforeAll(async () => {
    const tenant = await createTenant(server, { require_email_verification: true });
    slug = tenant.slug;
    ({ email } = await createUser(server, tenant, { emailVerified: false }));
  });

  test('authenticateUser: 403 Email address not verified', async () => {
    const reply = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: await identify(email), password: strongPassword } });
    expect([reply.status, reply.body, reply.headers.get('x-contract-violation')]).toEqual([403, detail('emailNotVerified'), null]);
  });

  test('portalLogin and tenantLogin: 403 Email address not verified', async () => {
    const portal = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect([portal.status, portal.body]).toEqual([403, detail('emailNotVerified')]);
    const hosted = await server.call('POST', `/api/v1/auth/tenants/${slug}/login`, { body: { email, password: strongPassword } });
    expect([hosted.status, hosted.body]).toEqual([403, detail('emailNotVerified')]);
  });
});

describe('a tenant that requires MFA, an account with no second factor', () => {
  let email: string;
  let slug: string;
  beforeAll(async () => {
    const tenant = await createTenant(server, { mfa_required: true });
    slug = tenant.slug;
    ({ email } = await createUser(server, tenant));
  });

  test('tenantLogin, portalLogin and authenticateUser: 400 This verification method is not available', async () => {
    const hosted = await server.call('POST', `/api/v1/auth/tenants/${slug}/login`, { body: { email, password: strongPassword } });
    expect([hosted.status, hosted.body, hosted.headers.get('x-contract-violation')]).toEqual([400, detail('mfaMethodUnavailable'), null]);
    const portal = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect([portal.status, portal.body, portal.headers.get('x-contract-violation')]).toEqual([400, detail('mfaMethodUnavailable'), null]);
    const twoStep = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: await identify(email), password: strongPassword } });
    expect([twoStep.status, twoStep.body, twoStep.headers.get('x-contract-violation')]).toEqual([400, detail('mfaMethodUnavailable'), null]);
  });
});

/** The status, the catalogue body, no contract violation, and an example of the spec's response that is exactly this body. */
function expectDocumented(operationId: OperationId, reply: { status: number; body: unknown; headers: Headers }, id: ErrorId): void {
  expect([reply.status, reply.body, reply.headers.get('x-contract-violation')], operationId).toEqual([errorCatalogue[id].status, detail(id), null]);
  const response = opById(operationId).responses.find(([s]) => s === reply.status)![1];
  expect(examplesOf(response).map((e) => e.value), `${operationId} ${reply.status} examples`).toContainEqual(detail(id));
}

async function portalToken(email: string): Promise<string> {
  const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  expect(reply.status).toBe(200);
  return reply.body.access_token as string;
}

describe('refusals documented by this audit, reached', () => {
  test('changePassword: 400 for the same password again, and for a wrong current one', async () => {
    const { email } = await createUser(server, await createTenant(server));
    const token = await portalToken(email);
    const same = await server.call('POST', '/api/v1/me/password', { token, body: { current_password: strongPassword, new_password: strongPassword } });
    expectDocumented('changePassword', same, 'passwordReused');
    const wrong = await server.call('POST', '/api/v1/me/password', { token, body: { current_password: 'not the password at all', new_password: `${strongPassword} again` } });
    expectDocumented('changePassword', wrong, 'currentPasswordIncorrect');
  });

  test('confirmTotpEnrolment: 400 where the tenant does not allow authenticator apps', async () => {
    const { email } = await createUser(server, await createTenant(server, { mfa_methods: ['backup_code'] }));
    const reply = await server.call('POST', '/api/v1/me/mfa/totp/confirm', { token: await portalToken(email), body: { code: '123456' } });
    expectDocumented('confirmTotpEnrolment', reply, 'mfaMethodUnavailable');
  });

  test('register: 400 for a redirect_uri the tenant has not registered', async () => {
    const tenant = await createTenant(server, { self_registration: true, allowed_redirect_uris: ['https://app.example.com/welcome'] });
    const reply = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/register`, {
      body: { email: `new.${Date.now()}@example.com`, password: strongPassword, first_name: 'New', last_name: 'User', redirect_uri: 'https://evil.example.com/' },
    });
    expectDocumented('register', reply, 'redirectUriNotAllowed');
  });

  describe('an account with only an authenticator app', () => {
    let email: string;
    let slug: string;
    let userId: string;
    beforeAll(async () => {
      const tenant = await createTenant(server);
      slug = tenant.slug;
      const created = await createUser(server, tenant);
      ({ email } = created);
      userId = created.user._id.toHexString();
      await enrolTotpDirectly(server, created.user._id);
    });

    test('portalLogin: 403, the one-step sign-in cannot carry the second factor', async () => {
      const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
      expectDocumented('portalLogin', reply, 'mfaRequiredUseTwoStep');
    });

    test('sendEmailMfa and beginWebauthnAuth: 400 for methods it has not set up', async () => {
      const challenge = await server.call('POST', `/api/v1/auth/tenants/${slug}/login`, { body: { email, password: strongPassword } });
      expect(challenge.body.data).toMatchObject({ status: 'mfa_required', available_methods: ['totp'] });
      const q = `mfa_token=${encodeURIComponent(challenge.body.data.mfa_token)}&user_id=${userId}`;
      expectDocumented('sendEmailMfa', await server.call('POST', `/api/v1/auth/tenants/${slug}/mfa/email/send?${q}`), 'mfaMethodUnavailable');
      expectDocumented('beginWebauthnAuth', await server.call('POST', `/api/v1/auth/tenants/${slug}/mfa/webauthn/begin?${q}`), 'mfaMethodUnavailable');
    });
  });

  test('authenticateUser: 400 for a flow token that is not live', async () => {
    const reply = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: `ft_${'x'.repeat(43)}`, password: strongPassword } });
    expectDocumented('authenticateUser', reply, 'flowExpired');
  });
});

describe('every operation while the database is lost', () => {
  /**
   * The availability monitor's verdict, overridden the way a lost database sets it: every store
   * call is refused at once with serviceUnavailable (handlers/store/availability.ts). The real
   * outage (killing the embedded database) is test/integration/database-outage.test.ts.
   */
  async function whileDatabaseLost<T>(work: () => Promise<T>): Promise<T> {
    const availability = (server.database as unknown as { availability: object }).availability;
    Object.defineProperty(availability, 'available', { configurable: true, get: () => false });
    try {
      return await work();
    } finally {
      Reflect.deleteProperty(availability, 'available');
    }
  }

  test('each answers the documented 503 with Retry-After, never an undocumented status', async () => {
    const { email } = await createUser(server, await createTenant(server));
    // A token never used yet: its session is in no cache, so the bearer check reads the database.
    const token = await portalToken(email);
    // The key set is cached for a minute: let it be stale, so getJwks reloads it.
    (server.domain.signingKeys as unknown as { loadedAt: number }).loadedAt = 0;
    const replies = await whileDatabaseLost(() =>
      Promise.all(jsonOperations().map(async (op) => [op.operationId, await send(server.url, validRequest(op, op.secured ? { authorization: `Bearer ${token}` } : {}))] as const)),
    );
    const answered = replies.map(([id, r]) => [id, r.status, r.body, r.headers.get('retry-after'), r.headers.get('x-contract-violation')]);
    expect(answered).toEqual(jsonOperations().map((op) => [op.operationId, 503, detail('serviceUnavailable'), '5', null]));
    // And back: the same token works once the database is.
    expect((await server.call('GET', '/api/v1/me', { token })).status).toBe(200);
  });
});
