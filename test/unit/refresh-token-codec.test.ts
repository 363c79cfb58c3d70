import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { RefreshTokenCodec } from '../../handlers/domain/sessions/refresh-token-codec.ts';

const key = Buffer.alloc(32, 7);
const codec = new RefreshTokenCodec(key);
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

  it('names a generation only as mint spells it: no leading zeros, no capitals, at most 8 digits', () => {
    const nonce = codec.newNonce();
    const macOver = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
    const head = `rt_${sessionId.toHexString()}`;
    // A correct MAC over a leading-zero spelling is still no token of generation 5.
    expect(codec.parse(`${head}.05.n2.${nonce}.${macOver(`${head}.05.n2.${nonce}`)}`)).toBe('forged');
    expect(codec.parse(`${head}.A.n2.${nonce}.${macOver(`${head}.A.n2.${nonce}`)}`)).toBeUndefined();
    expect(codec.parse(`${head}.123456789.n2.${nonce}.${macOver(`${head}.123456789.n2.${nonce}`)}`)).toBeUndefined();
    expect(codec.parse(`${head}.5.n2.${nonce}.${macOver(`${head}.5.n2.${nonce}`)}`)).toEqual({ sessionId, generation: 5, rememberMe: false, nonce });
  });

  it('reads random tokens (from before derived ones) without a MAC, and nothing else', () => {
    const random = `rt_${sessionId.toHexString()}.a.n.${'x'.repeat(43)}`;
    expect(codec.parse(random)).toEqual({ sessionId, generation: 10, rememberMe: false, nonce: null });
    for (const other of ['rt_nope', `rt_${'y'.repeat(43)}`, `rt_${sessionId.toHexString()}.0.x2.${'a'.repeat(22)}.${'b'.repeat(43)}`, '']) {
      expect(codec.parse(other)).toBeUndefined();
    }
  });
});
