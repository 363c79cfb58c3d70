import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Opaque tokens: 256 bits from the CSPRNG, base64url, with a short prefix that tells a human (and a
 * secret scanner) what the token is. Only their SHA-256 is stored, so a database leak yields nothing
 * usable; a fast hash is right here because the tokens have full entropy.
 */
export function newOpaqueToken(prefix: 'rt' | 'ft' | 'mfa' | 'td' | 'ev' | 'pr' | 'bs' | 'ac'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHmac('sha256', 'cmp').update(a).digest();
  const right = createHmac('sha256', 'cmp').update(b).digest();
  return timingSafeEqual(left, right);
}

/** AES-256-GCM for secrets that must be read back (signing keys, TOTP secrets). */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox key must be 32 bytes');
  }

  seal(plaintext: string, associatedData = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, associatedData = ''): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || body === undefined || !tag) throw new Error('Unrecognised sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** Development-only key so a fresh checkout runs; production refuses to start without a real one. */
export function developmentKey(): Buffer {
  return createHash('sha256').update('scaikey-development-only-key').digest();
}

/** The keys derived from the one master key (SCAIKEY_ENCRYPTION_KEY): one purpose, one key. */
export function deriveKeys(masterKey: Buffer): { box: SecretBox; pepper: Buffer; refreshKey: Buffer } {
  return {
    box: new SecretBox(createHmac('sha256', masterKey).update('secret-box').digest()),
    pepper: createHmac('sha256', masterKey).update('backup-code-pepper').digest(),
    refreshKey: createHmac('sha256', masterKey).update('refresh-token-mac').digest(),
  };
}
