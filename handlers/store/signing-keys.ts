import { defineCollection } from './collection.ts';

export interface SigningKeyDoc {
  _id: string;
  alg: 'ES256';
  public_jwk: Record<string, unknown>;
  private_jwk_enc: string;
  status: 'active' | 'retired';
  created_at: Date;
  /** Retired keys stay published until every token they signed has expired. */
  publish_until: Date | null;
}

/** `signing_keys`: its indexes. */
export const signingKeysCollection = defineCollection<SigningKeyDoc>({
  name: 'signing_keys',
  indexes: [],
});
