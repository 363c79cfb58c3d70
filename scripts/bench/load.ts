// Load generation with autocannon (in-process), and the request shapes of each scenario.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The part of autocannon's API this benchmark uses (the package ships no types). */
export interface LoadRequest {
  method?: 'GET' | 'POST';
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: LoadRequest, context: Record<string, unknown>) => LoadRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}

interface Histogram {
  average: number;
  mean: number;
  max: number;
  min: number;
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
  p99_9: number;
  total: number;
}

export interface LoadResult {
  duration: number;
  latency: Histogram;
  requests: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}

interface Instance {
  stop(): void;
}

type Autocannon = (opts: Record<string, unknown>, done: (err: Error | null, result: LoadResult) => void) => Instance;

const autocannon = require('autocannon') as Autocannon;

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  requests: LoadRequest[];
  timeoutSeconds?: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        pipelining: 1,
        timeout: options.timeoutSeconds ?? 30,
        requests: options.requests,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

const json = { 'content-type': 'application/json' };

/** GET /api/v1/me, round-robin over the access tokens of many users. */
export function meRequests(tokens: string[]): LoadRequest[] {
  let next = 0;
  return [
    {
      method: 'GET',
      path: '/api/v1/me',
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }),
    },
  ];
}

/**
 * POST /api/v1/auth/refresh. Every token is used exactly once: a request takes the oldest unused
 * token from the queue and a successful answer appends the rotated successor, like a client
 * refreshing its session. The queue starts with one token per seeded session.
 */
export function refreshRequests(queue: string[]): LoadRequest[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/auth/refresh',
      headers: json,
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ refresh_token: queue.shift() ?? 'rt_exhausted' }) }),
      onResponse: (status, body) => {
        if (status !== 200) return;
        try {
          queue.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
        } catch {
          // counted as a success by autocannon; the token is lost to the queue
        }
      },
    },
  ];
}

/** POST /api/v1/auth/identify with the emails of seeded users. */
export function identifyRequests(emails: string[]): LoadRequest[] {
  let next = 0;
  return [
    {
      method: 'POST',
      path: '/api/v1/auth/identify',
      headers: json,
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ email: emails[next++ % emails.length] }) }),
    },
  ];
}

/** POST /api/v1/auth/login (one-step portal login), a different user each time. */
export function loginRequests(emails: string[], password: string, offset = 0): LoadRequest[] {
  let next = offset;
  return [
    {
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: json,
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ email: emails[next++ % emails.length], password }) }),
    },
  ];
}

/**
 * Latency with nothing else running: `count` requests one after another (after one untimed), built
 * exactly like the load's. Returns the median in ms. Shows the cost of one request apart from
 * queueing, which is what a closed-loop load at 32 connections mostly measures once saturated.
 */
export async function sequentialLatency(url: string, requests: LoadRequest[], count = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= count; i++) {
    const template = requests[i % requests.length]!;
    const base: LoadRequest = { method: template.method ?? 'GET', path: template.path ?? '/', headers: { ...template.headers }, body: template.body };
    const req = template.setupRequest ? template.setupRequest(base, {}) : base;
    const started = performance.now();
    const response = await fetch(`${url}${req.path}`, { method: req.method, headers: req.headers, body: req.body });
    const text = await response.text();
    if (i > 0) times.push(performance.now() - started);
    template.onResponse?.(response.status, text, {});
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** The OpenID provider's token endpoint with client_credentials (HTTP Basic), one service app. */
export function clientCredentialsRequests(tokenPath: string, basic: string): LoadRequest[] {
  return [{ method: 'POST', path: tokenPath, headers: { ...form, authorization: `Basic ${basic}` }, body: 'grant_type=client_credentials' }];
}

/** Code exchange: each seeded authorization code once (a used code would be a 400). */
export function codeExchangeRequests(tokenPath: string, basic: string, codes: string[], redirectUri: string): LoadRequest[] {
  return [
    {
      method: 'POST',
      path: tokenPath,
      headers: { ...form, authorization: `Basic ${basic}` },
      setupRequest: (req) => ({ ...req, body: `grant_type=authorization_code&code=${encodeURIComponent(codes.shift() ?? 'ac_exhausted')}&redirect_uri=${encodeURIComponent(redirectUri)}` }),
    },
  ];
}

/** The refresh_token grant at the token endpoint, rotating like refreshRequests. */
export function oauthRefreshRequests(tokenPath: string, basic: string, queue: string[]): LoadRequest[] {
  return [
    {
      method: 'POST',
      path: tokenPath,
      headers: { ...form, authorization: `Basic ${basic}` },
      setupRequest: (req) => ({ ...req, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(queue.shift() ?? 'rt_exhausted')}` }),
      onResponse: (status, body) => {
        if (status !== 200) return;
        try {
          queue.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
        } catch {
          // the token is lost to the queue
        }
      },
    },
  ];
}

/** GET userinfo with apps' access tokens, round-robin. */
export function userinfoRequests(path: string, tokens: string[]): LoadRequest[] {
  let next = 0;
  return [{ method: 'GET', path, setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }) }];
}
