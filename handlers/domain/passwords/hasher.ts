import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import pLimit, { type LimitFunction } from 'p-limit';

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
  private readonly limit: LimitFunction;
  private dummyHash: Promise<string> | undefined;

  /**
   * `concurrency` bounds hashes in flight (0 = one per core). bcrypt shares libuv's thread pool
   * with WebCrypto, which verifies every access token: without a bound, a login storm would fill
   * the pool and stall every authenticated request behind slow hashes. More hashes than cores
   * would not finish sooner anyway.
   */
  constructor(
    private readonly cost: number,
    concurrency = 0,
  ) {
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4;
    const wanted = concurrency > 0 ? concurrency : availableParallelism();
    this.limit = pLimit(Math.max(1, Math.min(wanted, poolSize - 1)));
  }

  hash(password: string): Promise<string> {
    return this.limit(() => this.bcrypt.hash(normalise(password), this.cost));
  }

  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    if (!hash) {
      // Unknown user: spend the same time on a hash of the same cost, so timing reveals nothing.
      const dummy = await this.dummy();
      await this.limit(() => this.bcrypt.compare(normalise(password), dummy));
      return false;
    }
    return this.limit(() => this.bcrypt.compare(normalise(password), hash));
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
    this.dummyHash ??= this.limit(() => this.bcrypt.hash('scaikey-dummy-password-for-timing', this.cost));
    return this.dummyHash;
  }
}
