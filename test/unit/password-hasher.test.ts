import bcryptjs from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { PasswordHasher, type PasswordHashSettings } from '../../handlers/domain/passwords/hasher.ts';

// Low costs, as every test uses; the kinds and the upgrade rules are what is under test.
const argon2 = { memoryKiB: 1024, timeCost: 1, parallelism: 1 };
const make = (overrides: Partial<PasswordHashSettings> = {}) => new PasswordHasher({ algorithm: 'argon2id', bcryptCost: 4, argon2, ...overrides });

describe('PasswordHasher', () => {
  it('hashes with Argon2id by default, with the configured parameters, and verifies', async () => {
    const hasher = make();
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(await hasher.verify('correct horse battery staple', hash)).toBe(true);
    expect(await hasher.verify('correct horse battery stapler', hash)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
  });

  it('verifies bcrypt hashes while Argon2id is configured, and asks to upgrade them', async () => {
    const hasher = make();
    const legacy = await bcryptjs.hash('a long enough passphrase', 4);
    expect(await hasher.verify('a long enough passphrase', legacy)).toBe(true);
    expect(await hasher.verify('another passphrase entirely', legacy)).toBe(false);
    expect(hasher.needsRehash(legacy)).toBe(true);
  });

  it('asks to re-hash Argon2id hashes weaker than configured, not stronger ones', async () => {
    const weak = await make().hash('pw-one-two-three');
    const strong = await make({ argon2: { memoryKiB: 2048, timeCost: 2, parallelism: 1 } }).hash('pw-one-two-three');
    const configured = make({ argon2: { memoryKiB: 2048, timeCost: 2, parallelism: 1 } });
    expect(configured.needsRehash(weak)).toBe(true);
    expect(configured.needsRehash(strong)).toBe(false);
    expect(await configured.verify('pw-one-two-three', weak)).toBe(true);
  });

  it('with PASSWORD_HASH=bcrypt writes bcrypt, verifies Argon2id, and upgrades cost and kind', async () => {
    const hasher = make({ algorithm: 'bcrypt', bcryptCost: 5 });
    const hash = await hasher.hash('pw-one-two-three');
    expect(hash).toMatch(/^\$2b\$05\$/);
    expect(PasswordHasher.costOf(hash)).toBe(5);
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(hasher.needsRehash(await bcryptjs.hash('x', 4))).toBe(true);
    const argonHash = await make().hash('pw-one-two-three');
    expect(await hasher.verify('pw-one-two-three', argonHash)).toBe(true);
    expect(hasher.needsRehash(argonHash)).toBe(true);
  });

  it('compares Unicode passwords after NFC normalisation, on both kinds', async () => {
    const composed = 'Caf\u00e9 au lait, s\u2019il vous pla\u00eet';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    for (const hasher of [make(), make({ algorithm: 'bcrypt' })]) {
      expect(await hasher.verify(decomposed, await hasher.hash(composed))).toBe(true);
    }
  });

  it('bcrypt: no byte past 72 is ignored', async () => {
    const hasher = make({ algorithm: 'bcrypt' });
    const base = 'x'.repeat(72);
    const hash = await hasher.hash(`${base}A`);
    expect(await hasher.verify(`${base}A`, hash)).toBe(true);
    expect(await hasher.verify(`${base}B`, hash)).toBe(false);
  });

  it('an unknown account (no hash) or an unrecognised hash never verifies', async () => {
    const hasher = make();
    expect(await hasher.verify('anything', null)).toBe(false);
    expect(await hasher.verify('anything', undefined)).toBe(false);
    expect(await hasher.verify('anything', 'plain-text-is-not-a-hash')).toBe(false);
    expect(await hasher.verify('anything', '$argon2id$v=19$m=1024,t=1,p=1$broken')).toBe(false);
  });
});
