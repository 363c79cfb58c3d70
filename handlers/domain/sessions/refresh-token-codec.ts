import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ObjectId } from 'mongodb';

/**
 * A refresh token of a family kept on its session.
 *
 * Derived (current): `rt_<session id>.<generation>.<r|n>2.<family nonce>.<MAC>`, the MAC an
 * HMAC-SHA256 under a key derived from SCAIKEY_ENCRYPTION_KEY over everything before it. A token
 * is a pure function of (session, generation, remember-me, nonce), so the session stores only the
 * nonce and the generation: no hash of the current token, no history of earlier ones, no sealed
 * successor. A genuine earlier token is recognised by its MAC and its generation (reuse, of any
 * age); the grace window's successor is minted again. A forged token fails the MAC before any
 * database read. Forging one takes both the key (not in the database) and the nonce (not in the
 * configuration).
 *
 * Random (before derived tokens): `rt_<session id>.<generation>.<r|n>.<256 random bits>`, checked
 * by the SHA-256 stored on the session; its family moves to derived tokens at its next rotation.
 */
export type ParsedRefreshToken = {
  sessionId: ObjectId;
  generation: number;
  rememberMe: boolean;
  /** The family nonce (derived tokens, MAC verified); null: a random token. */
  nonce: string | null;
};

const derivedPattern = /^rt_([0-9a-f]{24})\.([0-9a-z]{1,8})\.([rn])2\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const randomPattern = /^rt_([0-9a-f]{24})\.([0-9a-z]{1,8})\.([rn])\.[A-Za-z0-9_-]{43}$/;

export class RefreshTokenCodec {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('refresh token key must be at least 32 bytes');
  }

  /** 128 random bits naming one family. */
  newNonce(): string {
    return randomBytes(16).toString('base64url');
  }

  mint(sessionId: ObjectId, generation: number, rememberMe: boolean, nonce: string): string {
    const body = `rt_${sessionId.toHexString()}.${generation.toString(36)}.${rememberMe ? 'r' : 'n'}2.${nonce}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The token's parts; 'forged' for a derived token whose MAC is wrong; undefined for another format. */
  parse(token: string): ParsedRefreshToken | 'forged' | undefined {
    const derived = derivedPattern.exec(token);
    if (derived) {
      const body = token.slice(0, token.lastIndexOf('.'));
      const expected = Buffer.from(this.mac(body), 'latin1');
      const given = Buffer.from(derived[5]!, 'latin1');
      if (!timingSafeEqual(expected, given)) return 'forged';
      const generation = parseInt(derived[2]!, 36);
      // Only the spelling mint writes (no leading zeros) names a generation.
      if (generation.toString(36) !== derived[2]) return 'forged';
      return { sessionId: new ObjectId(derived[1]), generation, rememberMe: derived[3] === 'r', nonce: derived[4]! };
    }
    const random = randomPattern.exec(token);
    return random ? { sessionId: new ObjectId(random[1]), generation: parseInt(random[2]!, 36), rememberMe: random[3] === 'r', nonce: null } : undefined;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body, 'utf8').digest('base64url');
  }
}
