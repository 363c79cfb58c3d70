import type { ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export interface WebAuthnCredentialDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  /** The authenticator's credential ID, base64url; unique. */
  credential_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  /** Signature counter last seen; 0 for authenticators without one. */
  counter: number;
  transports: string[];
  name: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  aaguid: string;
  rp_id: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** `webauthn_credentials`: its indexes. */
export const webauthnCredentialsCollection = defineCollection<WebAuthnCredentialDoc>({
  name: 'webauthn_credentials',
  indexes: [
    { key: { credential_id: 1 }, name: 'credential_id_unique', unique: true },
    { key: { tenant_id: 1, user_id: 1 }, name: 'tenant_user' },
  ],
});
