// The admin guard's client-token branch (docs §6, §9.2) with constructed principals: the bearer
// check will produce client principals from platform tokens (the OIDC work); the rule is here.
import { describe, expect, test } from 'vitest';
import { ApiError, errorCatalogue } from '../../handlers/core/errors.ts';
import type { ClientPrincipal } from '../../handlers/core/request-context.ts';
import { AdminAccess, clientActor } from '../../handlers/domain/admin/admin-access.ts';

const client = (overrides: Partial<ClientPrincipal> = {}): ClientPrincipal => ({
  kind: 'client', clientId: 'c1', scopes: [], platformToken: true, appScope: 'GLOBAL', tenantId: null, partnerId: null, tokenId: 'j', expiresAt: 0, token: 't', ...overrides,
});

function refusal(run: () => unknown): { status: number; detail: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, detail: error.detail };
    throw error;
  }
}

describe('platform client tokens', () => {
  test('reads need admin:read or admin:write; writes need admin:write; otherwise the documented 403', () => {
    const missing = { status: 403, detail: 'Platform token requires admin:read or admin:write scope' };
    expect(errorCatalogue.platformScopeRequired.detail).toBe(missing.detail);
    expect(refusal(() => clientActor(client({ scopes: ['openid'] }), 'read'))).toEqual(missing);
    expect(refusal(() => clientActor(client({ scopes: ['admin:read'] }), 'write'))).toEqual(missing);
    expect(refusal(() => clientActor(client({ scopes: ['openid', 'admin:read'] }), 'read'))).toBeUndefined();
    expect(refusal(() => clientActor(client({ scopes: ['admin:write'] }), 'read'))).toBeUndefined();
    expect(refusal(() => clientActor(client({ scopes: ['admin:write'] }), 'write'))).toBeUndefined();
  });

  test('a GLOBAL platform token reaches everything; a partner or tenant one only its owner', () => {
    expect(clientActor(client({ scopes: ['admin:read'] }), 'read').reach).toEqual({ kind: 'platform' });
    expect(clientActor(client({ scopes: ['admin:read'], appScope: 'PARTNER', partnerId: 'prt_a' }), 'read').reach).toEqual({ kind: 'partner', partnerId: 'prt_a' });
    const tenant = clientActor(client({ scopes: ['admin:read'], appScope: 'TENANT', tenantId: '6f1c2b9e4a7d4e0f9b3c2a10' }), 'read').reach;
    expect(tenant).toMatchObject({ kind: 'tenant', partnerId: null });
  });

  test('a client token that is not a platform token is no admin', () => {
    expect(refusal(() => clientActor(client({ scopes: ['admin:write'], platformToken: false }), 'read'))).toEqual({ status: 403, detail: 'Admin privileges required' });
  });

  test('the guard takes the client branch without reading users; no principal is 401', async () => {
    const guard = new AdminAccess({ users: {} as never, tenants: {} as never });
    await expect(guard.require(client({ scopes: ['admin:write'] }), 'write')).resolves.toMatchObject({ kind: 'client', clientId: 'c1' });
    await expect(guard.require(client({ scopes: [] }), 'read')).rejects.toMatchObject({ status: 403, id: 'platformScopeRequired' });
    await expect(guard.require(undefined, 'read')).rejects.toMatchObject({ status: 401 });
  });
});
