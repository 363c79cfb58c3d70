import { describe, expect, it } from 'vitest';
import { ObjectId } from 'mongodb';
import { RefreshTokenCodec } from '../../handlers/domain/sessions/refresh-token-codec.ts';

const codec = new RefreshTokenCodec(Buffer.alloc(32, 7));
const sessionId = new ObjectId();

describe('refresh token codec', () => {
  it('mints a token that parses back to its parts, and is a pure function of them', () => {
    const nonce = codec.newNonce();
    const token = codec.mint(sessionId, 37, true, nonce);
    expect(token).toMatch(/^rt_[0-9a-f]{24}\.11\.r2\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(codec.parse(token)).toEqual({ sessionId, generation: 37, rememberMe: true, nonce });
    expect(codec.mint(sessionId, 37, true, nonce)).toBe(token);
    expect(codec.mint(sessionId, 38, true, nonce)).not.toBe(token);
    expect(codec.newNonce()).not.toBe(nonce);
  });

  it('calls any change to a derived token, or another key, forged', () => {
    const token = codec.mint(sessionId, 3, false, codec.newNonce());
    const [head, generation, flag, nonce, mac] = token.split('.') as [string, string, string, string, string];
    const other = new ObjectId().toHexString();
    for (const changed of [
      [head, '4', flag, nonce, mac],
      [head, generation, 'r2', nonce, mac],
      [`rt_${other}`, generation, flag, nonce, mac],
      [head, generation, flag, `${nonce.slice(0, -1)}${nonce.endsWith('A') ? 'B' : 'A'}`, mac],
      [head, generation, flag, nonce, `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`],
    ]) {
      expect(codec.parse(changed.join('.'))).toBe('forged');
    }
    expect(new RefreshTokenCodec(Buffer.alloc(32, 8)).parse(token)).toBe('forged');
  });

  it('reads random tokens (from before derived ones) without a MAC, and nothing else', () => {
    const random = `rt_${sessionId.toHexString()}.a.n.${'x'.repeat(43)}`;
    expect(codec.parse(random)).toEqual({ sessionId, generation: 10, rememberMe: false, nonce: null });
    for (const other of ['rt_nope', `rt_${'y'.repeat(43)}`, `rt_${sessionId.toHexString()}.0.x2.${'a'.repeat(22)}.${'b'.repeat(43)}`, '']) {
      expect(codec.parse(other)).toBeUndefined();
    }
  });
});
