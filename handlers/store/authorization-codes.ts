import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

/** One authorization code (RFC 6749 §4.1.2), stored by the SHA-256 of its value. */
export interface AuthorizationCodeDoc {
  _id: string;
  issuer: string;
  client_id: string;
  tenant_id: ObjectId;
  user_id: ObjectId;
  /** The browser session that signed in. */
  browser_session_id: ObjectId;
  /** The app session the exchange creates; a reused code revokes it (RFC 6749 §4.1.2). */
  grant_session_id: ObjectId;
  redirect_uri: string;
  scope: string;
  nonce: string | null;
  code_challenge: string | null;
  auth_time: Date;
  amr: string[];
  acr: string | null;
  /** The `claims` request parameter, as JSON. */
  claims: string | null;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

/** `authorization_codes`: short-lived, single-use; the TTL index only tidies up. */
export const authorizationCodesCollection = defineCollection<AuthorizationCodeDoc>({
  name: 'authorization_codes',
  indexes: [],
  expiry: { field: 'expires_at', marginSeconds: 3600 },
});

export class AuthorizationCodeStore {
  constructor(private readonly codes: Collection<AuthorizationCodeDoc>) {}

  async insert(doc: AuthorizationCodeDoc): Promise<void> {
    await this.codes.insertOne(doc);
  }

  /**
   * Marks the code used, if it was not: the one conditional write that makes a code single-use.
   * Returns the code as it was before (null: unknown, or used already).
   */
  consume(hash: string, now: Date): Promise<AuthorizationCodeDoc | null> {
    return this.codes.findOneAndUpdate({ _id: hash, consumed_at: null }, { $set: { consumed_at: now } }, { returnDocument: 'before' });
  }

  findByHash(hash: string): Promise<AuthorizationCodeDoc | null> {
    return this.codes.findOne({ _id: hash });
  }
}
