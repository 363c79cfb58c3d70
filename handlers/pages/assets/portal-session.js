// The portal's tokens. The access token lives only in memory (this module); the refresh token is
// kept in sessionStorage, so it survives page loads within the tab but not the tab itself, and
// every page load starts by exchanging it (POST /auth/refresh rotates it) for a fresh access token.
import { api, ApiError } from './core.js';

const refreshKey = 'scaikey.portal.refresh_token';
let access = null;
let refreshing = null;

export class SessionEnded extends Error {
  constructor() {
    super('session ended');
    this.name = 'SessionEnded';
  }
}

function expiryOf(jwt) {
  try {
    const payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 60_000;
  } catch {
    return Date.now() + 60_000;
  }
}

export function saveTokens({ access_token, refresh_token }) {
  access = { token: access_token, expiresAt: expiryOf(access_token) };
  if (refresh_token) window.sessionStorage.setItem(refreshKey, refresh_token);
}

export function hasSession() {
  return Boolean(window.sessionStorage.getItem(refreshKey));
}

export function clearSession() {
  access = null;
  window.sessionStorage.removeItem(refreshKey);
}

function refresh() {
  refreshing ??= (async () => {
    const refreshToken = window.sessionStorage.getItem(refreshKey);
    if (!refreshToken) throw new SessionEnded();
    try {
      saveTokens(await api('POST', '/api/v1/auth/refresh', { body: { refresh_token: refreshToken } }));
      return access.token;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 422)) {
        clearSession();
        throw new SessionEnded();
      }
      throw error;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function accessToken() {
  if (access && access.expiresAt - 30_000 > Date.now()) return access.token;
  return refresh();
}

/** An API call with the bearer token; refreshes once if the access token was refused. */
export async function authApi(method, path, options = {}) {
  const token = await accessToken();
  try {
    return await api(method, path, { ...options, token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    access = null;
    return api(method, path, { ...options, token: await refresh() });
  }
}
