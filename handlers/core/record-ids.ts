import { ObjectId } from 'mongodb';

/**
 * Public ids of sessions (`ses_…`) and audit entries (`aud_…`), the prefix plus the ObjectId's hex
 * like tenants and users (core/public-ids.ts). Parsing takes the bare hex too: tokens name their
 * session by it (the `sid` claim).
 */
const hex24 = /^[0-9a-f]{24}$/i;

function parse(prefix: string, value: string | null | undefined): ObjectId | null {
  if (typeof value !== 'string') return null;
  const hex = value.startsWith(`${prefix}_`) ? value.slice(prefix.length + 1) : value;
  return hex24.test(hex) ? ObjectId.createFromHexString(hex.toLowerCase()) : null;
}

export const sessionPublicId = (id: ObjectId | string): string => `ses_${typeof id === 'string' ? id : id.toHexString()}`;
export const parseSessionId = (value: string | null | undefined): ObjectId | null => parse('ses', value);
export const auditEntryPublicId = (id: ObjectId): string => `aud_${id.toHexString()}`;
export const parseAuditEntryId = (value: string | null | undefined): ObjectId | null => parse('aud', value);
