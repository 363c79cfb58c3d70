/**
 * Bodies generated from a schema for `Prefer: dynamic=true`, with json-schema-faker doing the
 * work (formats, patterns, lengths, enums). Before it runs, the schema is walked once with the
 * same seeded randomness to make the result look like this API's data rather than noise:
 *
 * - `anyOf: [T, null]` (pydantic's Optional) gives T four times in five and null otherwise,
 *   instead of a coin toss, so most generated fields carry a value;
 * - plain strings get a generator chosen by property name: ids look like MongoDB ids, tokens like
 *   tokens (JWT-shaped access tokens), names like names, `redirect_uri` like a URL, `locale` and
 *   `timezone` like real ones; unknown strings stay short;
 * - integers without bounds are kept small and non-negative (`expires_in` and the like).
 *
 * The walk only narrows the schema (it never loosens a constraint), so every generated value is
 * still valid against the original schema; test/mocks checks that for every operation.
 */
import { generateSync, type JsonSchema as FakerSchema, type Random } from 'json-schema-faker';
import type { JsonSchema } from './catalogue.ts';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const NULL_PROBABILITY = 0.2;
const MAX_REF_DEPTH = 6;

/** Mulberry32: a small seeded generator for the walk (json-schema-faker seeds its own). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Named generators, registered as custom formats on the narrowed schema.

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = `${ALNUM}-_`;
const chars = (r: Random, alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[r.int(0, alphabet.length - 1)]).join('');
const hex = (r: Random, n: number) => chars(r, '0123456789abcdef', n);
const FIRST = ['Ada', 'Grace', 'Alan', 'Katherine', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Linus', 'Radia'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Torvalds', 'Perlman'];
const TENANTS = [
  ['acme', 'Acme Corporation'],
  ['globex', 'Globex'],
  ['initech', 'Initech'],
  ['umbrella', 'Umbrella Health'],
  ['stark', 'Stark Industries'],
] as const;
const SENTENCES = [
  'Request completed.',
  'A verification code has been sent to your email address.',
  'Your password has been reset. Please sign in with your new password.',
  'Check your email to verify your address and finish signing up.',
  'Logged out.',
];

const FORMATS: Record<string, (r: Random) => string> = {
  // Recent instants, second precision, as the real server writes them.
  'date-time': (r) => new Date(Date.UTC(2025, 0, 1) + Math.floor(r.next() * 730 * 86_400) * 1000).toISOString().replace('.000Z', 'Z'),
  'x-mock-object-id': (r) => hex(r, 24),
  'x-mock-uuid': (r) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${'89ab'[r.int(0, 3)]}${hex(r, 3)}-${hex(r, 12)}`,
  'x-mock-jwt': (r) => `eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.${chars(r, B64URL, 64)}.${chars(r, B64URL, 86)}`,
  'x-mock-token-rt': (r) => `rt_${chars(r, ALNUM, 43)}`,
  'x-mock-token-mfa': (r) => `mfa_${chars(r, ALNUM, 43)}`,
  'x-mock-token-ft': (r) => `ft_${chars(r, ALNUM, 43)}`,
  'x-mock-token-td': (r) => `td_${chars(r, ALNUM, 43)}`,
  'x-mock-token': (r) => chars(r, B64URL, 43),
  'x-mock-first-name': (r) => r.pick(FIRST),
  'x-mock-last-name': (r) => r.pick(LAST),
  'x-mock-display-name': (r) => `${r.pick(FIRST)} ${r.pick(LAST)[0]}.`,
  'x-mock-slug': (r) => r.pick(TENANTS)[0],
  'x-mock-tenant-name': (r) => r.pick(TENANTS)[1],
  'x-mock-url': (r) => `https://${r.pick(['app', 'portal', 'admin'])}.example.com/${r.pick(['callback', 'auth/callback', 'signed-in'])}`,
  'x-mock-locale': (r) => r.pick(['en-GB', 'en-US', 'fr-FR', 'de-DE', 'es-ES', 'ja-JP']),
  'x-mock-timezone': (r) => r.pick(['Europe/London', 'America/New_York', 'Europe/Paris', 'Asia/Tokyo', 'UTC']),
  'x-mock-phone': (r) => `+44${r.int(7000000000, 7999999999)}`,
  'x-mock-sentence': (r) => r.pick(SENTENCES),
  'x-mock-status': (r) => r.pick(['success', 'mfa_required', 'pending_verification']),
  'x-mock-mfa-method': (r) => r.pick(['totp', 'email', 'backup_code', 'webauthn']),
  'x-mock-kty': () => 'EC',
  'x-mock-crv': () => 'P-256',
  'x-mock-alg': () => 'ES256',
  'x-mock-use': () => 'sig',
  'x-mock-kid': (r) => `2026-0${r.int(1, 9)}-${r.int(10, 28)}-${hex(r, 6)}`,
  'x-mock-b64url': (r) => chars(r, B64URL, 43),
  'x-mock-word': (r) => chars(r, ALNUM, r.int(6, 12)),
};

/** The generator for a plain string property, by name. */
function formatFor(name: string | undefined): string {
  const n = (name ?? '').toLowerCase();
  if (n === 'access_token') return 'x-mock-jwt';
  if (n === 'refresh_token') return 'x-mock-token-rt';
  if (n === 'mfa_token') return 'x-mock-token-mfa';
  if (n === 'flow_token') return 'x-mock-token-ft';
  if (n === 'trusted_device_token') return 'x-mock-token-td';
  if (n === 'request_id') return 'x-mock-uuid';
  if (n === 'id' || n.endsWith('_id')) return 'x-mock-object-id';
  if (n.endsWith('token') || n === 'challenge') return 'x-mock-token';
  if (n === 'first_name') return 'x-mock-first-name';
  if (n === 'last_name') return 'x-mock-last-name';
  if (n === 'display_name') return 'x-mock-display-name';
  if (n === 'slug' || n === 'tenant_slug') return 'x-mock-slug';
  if (n === 'name') return 'x-mock-tenant-name';
  if (n.endsWith('uri') || n.endsWith('url')) return 'x-mock-url';
  if (n === 'locale') return 'x-mock-locale';
  if (n === 'timezone') return 'x-mock-timezone';
  if (n === 'phone') return 'x-mock-phone';
  if (n === 'message' || n === 'detail' || n === 'error' || n === 'msg') return 'x-mock-sentence';
  if (n === 'status') return 'x-mock-status';
  if (n === 'method' || n === 'default_method' || n === 'available_methods' || n === 'mfa_methods') return 'x-mock-mfa-method';
  if (n === 'kty' || n === 'crv' || n === 'alg' || n === 'use' || n === 'kid') return `x-mock-${n}`;
  if (n === 'x' || n === 'y') return 'x-mock-b64url';
  return 'x-mock-word';
}

// ---------------------------------------------------------------------------------------------
// The narrowing walk.

interface Walk {
  random: () => number;
  defs: Record<string, JsonSchema>;
  refDepth: number;
}

function isNullSchema(s: unknown): boolean {
  return isObject(s) && s.type === 'null' && Object.keys(s).every((k) => k === 'type' || k === 'title' || k === 'description');
}

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'example', 'deprecated', 'readOnly', 'writeOnly', '$comment']);

/** True when a schema constrains values (has a keyword other than annotations and `x-` extensions). */
function hasAssertions(schema: Obj): boolean {
  return Object.keys(schema).some((k) => !ANNOTATIONS.has(k) && !k.startsWith('x-'));
}

function narrow(schema: unknown, name: string | undefined, walk: Walk): unknown {
  if (!isObject(schema)) return schema;
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.startsWith('#/$defs/') ? walk.defs[schema.$ref.slice('#/$defs/'.length)] : undefined;
    if (!target || walk.refDepth >= MAX_REF_DEPTH) return schema;
    const { $ref: _ref, ...siblings } = schema;
    const resolved = narrow(target, name, { ...walk, refDepth: walk.refDepth + 1 });
    return hasAssertions(siblings) ? { allOf: [siblings, resolved] } : resolved;
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const variants = schema[key];
    if (!Array.isArray(variants)) continue;
    const nonNull = variants.filter((v) => !isNullSchema(v));
    if (nonNull.length === variants.length) continue;
    const { [key]: _variants, ...rest } = schema;
    if (nonNull.length === 0 || walk.random() < NULL_PROBABILITY) return { type: 'null' };
    const pick = nonNull[Math.floor(walk.random() * nonNull.length)];
    return hasAssertions(rest) ? narrow({ ...rest, allOf: [...(Array.isArray(rest.allOf) ? rest.allOf : []), pick] }, name, walk) : narrow(pick, name, walk);
  }
  const out: Obj = { ...schema };
  if (Array.isArray(out.allOf)) out.allOf = out.allOf.map((s) => narrow(s, name, walk));
  if (Array.isArray(out.anyOf)) out.anyOf = out.anyOf.map((s) => narrow(s, name, walk));
  if (Array.isArray(out.oneOf)) out.oneOf = out.oneOf.map((s) => narrow(s, name, walk));
  if (isObject(out.properties)) {
    const props: Obj = {};
    for (const [prop, sub] of Object.entries(out.properties)) props[prop] = narrow(sub, prop, walk);
    out.properties = props;
  }
  if (isObject(out.items)) out.items = narrow(out.items, name, walk);
  const type = out.type;
  if (type === 'string' && out.format === undefined && out.pattern === undefined && out.enum === undefined && out.const === undefined) {
    const format = formatFor(name);
    // Named values are short; only use one when the schema's length bounds allow every output.
    const min = typeof out.minLength === 'number' ? out.minLength : 0;
    const max = typeof out.maxLength === 'number' ? out.maxLength : Infinity;
    if (min === 0 && max >= 160) out.format = format;
    else if (max >= 6) Object.assign(out, { minLength: Math.max(min, Math.min(6, max)), maxLength: Math.min(max, Math.max(min, 16)) });
  }
  if (type === 'integer' || type === 'number') {
    if (out.minimum === undefined && out.exclusiveMinimum === undefined) out.minimum = 0;
    if (out.maximum === undefined && out.exclusiveMaximum === undefined) out.maximum = typeof out.minimum === 'number' ? Math.max(out.minimum, 0) + 3600 : 3600;
  }
  if (type === 'array' && out.maxItems === undefined) out.maxItems = Math.max(typeof out.minItems === 'number' ? out.minItems : 0, 3);
  return out;
}

/**
 * A value valid against `schema` (whose `$ref`s point into `defs` as `#/$defs/<name>`).
 * The same seed gives the same value.
 */
export function generateValue(schema: JsonSchema, defs: Record<string, JsonSchema>, seed: number): unknown {
  const narrowed = narrow(schema, undefined, { random: seeded(seed), defs, refDepth: 0 }) as Obj;
  return generateSync({ ...narrowed, $defs: defs } as FakerSchema, {
    seed,
    formats: FORMATS,
    alwaysFakeOptionals: true,
    maxDefaultItems: 3,
  });
}
