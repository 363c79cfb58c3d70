import { ObjectId } from 'mongodb';

/**
 * Public ids (docs §2): the API and tokens name tenants `tnt_…` and users `usr_…`; the database keys
 * them by ObjectId, so a public id is the prefix plus the ObjectId's hex and needs no lookup table.
 * Parsing also takes the bare 24-hex form that earlier releases handed out, so links, tokens and
 * client configuration issued before the prefixes keep working. Partners are keyed by their public
 * id itself (`prt_…`, a string `_id`), so they need no mapping.
 */
export const idPrefixes = { tenant: 'tnt', user: 'usr' } as const;

export type PublicIdKind = keyof typeof idPrefixes;

const hex24 = /^[0-9a-f]{24}$/i;

export function toPublicId(kind: PublicIdKind, id: ObjectId | string): string {
  const hex = typeof id === 'string' ? id : id.toHexString();
  return `${idPrefixes[kind]}_${hex}`;
}

export const tenantPublicId = (id: ObjectId | string): string => toPublicId('tenant', id);
export const userPublicId = (id: ObjectId | string): string => toPublicId('user', id);

/** The ObjectId behind a public id of this kind (prefixed or legacy bare hex); null for anything else. */
export function parsePublicId(kind: PublicIdKind, value: string | null | undefined): ObjectId | null {
  if (typeof value !== 'string') return null;
  const prefix = `${idPrefixes[kind]}_`;
  const hex = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  return hex24.test(hex) ? ObjectId.createFromHexString(hex.toLowerCase()) : null;
}

/** The 24-hex internal form of a public id (what principals and caches carry); null when it is not one. */
export function internalHex(kind: PublicIdKind, value: string | null | undefined): string | null {
  return parsePublicId(kind, value)?.toHexString() ?? null;
}

/** An ObjectId no document has, for a filter on an id that cannot exist (matches nothing, like an unknown one). */
export const noSuchId = ObjectId.createFromHexString('000000000000000000000000');

/** Partner ids: `prt_` then 1–64 URL-safe characters (ours are `prt_` + 16 random base62). */
export const partnerIdPattern = /^prt_[A-Za-z0-9_-]{1,64}$/;
