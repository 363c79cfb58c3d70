import { createRequire } from 'node:module';

/**
 * bcrypt hashing off the event loop. The native `bcrypt` binding runs on libuv's thread pool and is
 * about twice as fast as bcryptjs; both produce the same `$2b$` format, so bcryptjs is the fallback
 * where the binding cannot load.
 */
interface BcryptLike {
  hash(password: string, cost: number): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
}

const require = createRequire(import.meta.url);

function loadBcrypt(): BcryptLike {
  try {
    return require('bcrypt') as BcryptLike;
  } catch {
    return require('bcryptjs') as BcryptLike;
  }
}

// bcrypt only reads the first 72 bytes; longer passwords are pre-hashed so no byte is ignored.
function normalise(password: string): string {
  const bytes = Buffer.byteLength(password.normalize('NFC'), 'utf8');
  if (bytes <= 72) return password.normalize('NFC');
  return `sha256:${require('node:crypto').createHash('sha256').update(password.normalize('NFC')).digest('base64')}`;
}

export class PasswordHasher {
  private readonly bcrypt = loadBcrypt();
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly cost: number) {}

  hash(password: string): Promise<string> {
    return this.bcrypt.hash(normalise(password), this.cost);
  }

  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    if (!hash) {
      // Unknown user: spend the same time on a hash of the same cost, so timing reveals nothing.
      await this.bcrypt.compare(normalise(password), await this.dummy());
      return false;
    }
    return this.bcrypt.compare(normalise(password), hash);
  }

  /** Cost recorded in a stored hash, so logins can re-hash when the configured cost rises. */
  static costOf(hash: string): number {
    const match = /^\$2[aby]\$(\d{2})\$/.exec(hash);
    return match ? Number(match[1]) : 0;
  }

  needsRehash(hash: string): boolean {
    return PasswordHasher.costOf(hash) < this.cost;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.bcrypt.hash('scaikey-dummy-password-for-timing', this.cost);
    return this.dummyHash;
  }
}
