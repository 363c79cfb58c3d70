// A software WebAuthn authenticator for tests: real ES256 keys (node:crypto), real `none`
// attestation (CBOR attestationObject whose authData carries the attested credential data and a
// COSE EC2 public key) and real assertion signatures over authData || SHA-256(clientDataJSON), so
// the server's @simplewebauthn/server verification runs for real. It plays the browser's part too
// (clientDataJSON with type, challenge and origin).
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export interface SoftCredential {
  id: Buffer;
  rpId: string;
  privateKey: KeyObject;
  cosePublicKey: Uint8Array;
  userHandle: string;
  /** The next assertion reports counter + 1 (unless the authenticator has no counter). */
  counter: number;
}

export interface SoftAuthenticatorOptions {
  /** The origin the "browser" reports in clientDataJSON. */
  origin: string;
  /** Report a signature counter (true) or always 0, like many passkey providers (false). */
  useCounter?: boolean;
  /** Backup eligible and backed up (a synced passkey) instead of a single-device key. */
  backedUp?: boolean;
  /** Transports reported at registration. */
  transports?: string[];
}

export interface RegistrationCreateOptions {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  pubKeyCredParams: Array<{ alg: number; type: string }>;
  excludeCredentials?: Array<{ id: string }>;
  authenticatorSelection?: { residentKey?: string; userVerification?: string };
}

export interface AuthenticationGetOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
}

const b64url = (data: Uint8Array | Buffer | string): string => Buffer.from(data).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  /** AAGUID of this "model": all zeros, as `none` attestation reports. */
  readonly aaguid = Buffer.alloc(16);

  constructor(private readonly options: SoftAuthenticatorOptions) {}

  /** navigator.credentials.create(): a new ES256 credential, answered as RegistrationResponseJSON. */
  register(create: RegistrationCreateOptions, overrides: { origin?: string; rpId?: string; challenge?: string } = {}) {
    if (!create.pubKeyCredParams.some((p) => p.alg === -7)) throw new Error('the soft authenticator only does ES256 (-7)');
    const rpId = overrides.rpId ?? create.rp.id ?? new URL(overrides.origin ?? this.options.origin).hostname;
    const excluded = new Set((create.excludeCredentials ?? []).map((c) => c.id));
    if (this.credentials.some((c) => c.rpId === rpId && excluded.has(b64url(c.id)))) throw new Error('InvalidStateError: credential already registered');

    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
    const id = randomBytes(32);
    const credential: SoftCredential = { id, rpId, privateKey, cosePublicKey: cose, userHandle: create.user.id, counter: 0 };
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([FLAG_UP | FLAG_UV | FLAG_AT | this.backupFlags()]),
      uint32(this.options.useCounter === false ? 0 : credential.counter),
      this.aaguid,
      Buffer.from([id.length >> 8, id.length & 0xff]),
      id,
      Buffer.from(cose),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, number>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, number>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    const clientDataJSON = this.clientData('webauthn.create', overrides.challenge ?? create.challenge, overrides.origin);
    this.credentials.push(credential);
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key' as const,
      authenticatorAttachment: 'cross-platform' as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: this.options.transports ?? ['usb'],
      },
    };
  }

  /**
   * navigator.credentials.get(): an assertion by the first allowed credential this authenticator
   * holds (or the one given). `counter` forces the reported signature counter (a cloned key).
   */
  assert(get: AuthenticationGetOptions, overrides: { origin?: string; credential?: SoftCredential; counter?: number; challenge?: string; tamper?: boolean } = {}) {
    const rpId = get.rpId ?? new URL(overrides.origin ?? this.options.origin).hostname;
    const allowed = new Set((get.allowCredentials ?? []).map((c) => c.id));
    const credential =
      overrides.credential ?? this.credentials.find((c) => c.rpId === rpId && (allowed.size === 0 || allowed.has(b64url(c.id))));
    if (!credential) throw new Error('NotAllowedError: no credential for this relying party');
    if (overrides.counter !== undefined) credential.counter = overrides.counter;
    else if (this.options.useCounter !== false) credential.counter += 1;
    const authData = Buffer.concat([sha256(rpId), Buffer.from([FLAG_UP | FLAG_UV | this.backupFlags()]), uint32(this.options.useCounter === false && overrides.counter === undefined ? 0 : credential.counter)]);
    const clientDataJSON = this.clientData('webauthn.get', overrides.challenge ?? get.challenge, overrides.origin);
    // ECDSA over authData || SHA-256(clientDataJSON), DER-encoded as WebAuthn wants. `tamper` signs
    // slightly different bytes: a well-formed signature that does not verify.
    const signed = Buffer.concat([authData, sha256(clientDataJSON), overrides.tamper ? Buffer.from([0]) : Buffer.alloc(0)]);
    const signature = sign('sha256', signed, credential.privateKey);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key' as const,
      authenticatorAttachment: 'cross-platform' as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
    };
  }

  private backupFlags(): number {
    return this.options.backedUp ? FLAG_BE | FLAG_BS : 0;
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin?: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: origin ?? this.options.origin, crossOrigin: false }), 'utf8');
  }
}
