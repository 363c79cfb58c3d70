import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Password hashes, always off the event loop (both native bindings run on libuv's thread pool).
 * New hashes use the configured algorithm: Argon2id (OWASP: m=19 MiB, t=2, p=1 or stronger) by
 * default, or bcrypt. Either kind verifies, whatever is configured, and a hash of the other kind
 * or of a lower cost reports `needsRehash`, so sign-in upgrades it.
 */
export type PasswordHashAlgorithm = 'argon2id' | 'bcrypt';

export interface PasswordHashSettings {
  algorithm: PasswordHashAlgorithm;
  bcryptCost: number;
  argon2: { memoryKiB: number; timeCost: number; parallelism: number };
  /** Hashes in flight at once (0 = one per core); also bounds Argon2's memory to this × memoryKiB. */
  concurrency?: number;
}

interface BcryptLike {
  hash(password: string, cost: number): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
}

interface Argon2Like {
  argon2id: 2;
  hash(password: string, options: { type: 2; memoryCost: number; timeCost: number; parallelism: number }): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  needsRehash(hash: string, options: { memoryCost: number; timeCost: number; parallelism?: number }): boolean;
}

const require = createRequire(import.meta.url);

// The native binding is about twice as fast as bcryptjs; both write the same `$2b$` format.
function loadBcrypt(): BcryptLike {
  try {
    return require('bcrypt') as BcryptLike;
  } catch {
    return require('bcryptjs') as BcryptLike;
  }
}

// bcrypt only reads the first 72 bytes; longer passwords are pre-hashed so no byte is ignored.
function forBcrypt(password: string): string {
  const text = password.normalize('NFC');
  if (Buffer.byteLength(text, 'utf8') <= 72) return text;
  return `sha256:${createHash('sha256').update(text).digest('base64')}`;
}

const isBcrypt = (hash: string) => /^\$2[aby]\$/.test(hash);
const isArgon2 = (hash: string) => hash.startsWith('$argon2');

export class PasswordHasher {
  private readonly bcrypt = loadBcrypt();
  private argon2Binding: Argon2Like | undefined;
  private readonly limit: LimitFunction;
  private dummyHash: Promise<string> | undefined;

  /**
   * Hashing shares libuv's thread pool with WebCrypto, which verifies every access token: without
   * a bound, a login storm would fill the pool and stall every authenticated request behind slow
   * hashes (and Argon2 would hold memory per hash). More hashes than cores would not finish sooner.
   */
  constructor(private readonly settings: PasswordHashSettings) {
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4;
    const wanted = settings.concurrency && settings.concurrency > 0 ? settings.concurrency : availableParallelism();
    this.limit = pLimit(Math.max(1, Math.min(wanted, poolSize - 1)));
    if (settings.algorithm === 'argon2id') this.argon2();
  }

  get algorithm(): PasswordHashAlgorithm {
    return this.settings.algorithm;
  }

  hash(password: string): Promise<string> {
    return this.limit(() => this.hashNow(password));
  }

  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    if (!hash) {
      // Unknown user: the same work on a hash of the configured kind and cost, so timing reveals nothing.
      const dummy = await this.dummy();
      await this.limit(() => this.compareNow(password, dummy));
      return false;
    }
    return this.limit(() => this.compareNow(password, hash));
  }

  /** Cost recorded in a stored bcrypt hash (0 for anything else). */
  static costOf(hash: string): number {
    const match = /^\$2[aby]\$(\d{2})\$/.exec(hash);
    return match ? Number(match[1]) : 0;
  }

  /** Whether a stored hash is of another kind or weaker than configured (sign-in then re-hashes it). */
  needsRehash(hash: string): boolean {
    if (this.settings.algorithm === 'bcrypt') return !isBcrypt(hash) || PasswordHasher.costOf(hash) < this.settings.bcryptCost;
    if (!isArgon2(hash)) return true;
    const { memoryKiB, timeCost, parallelism } = this.settings.argon2;
    return this.argon2().needsRehash(hash, { memoryCost: memoryKiB, timeCost, parallelism });
  }

  private hashNow(password: string): Promise<string> {
    if (this.settings.algorithm === 'bcrypt') return this.bcrypt.hash(forBcrypt(password), this.settings.bcryptCost);
    const { memoryKiB, timeCost, parallelism } = this.settings.argon2;
    const argon2 = this.argon2();
    return argon2.hash(password.normalize('NFC'), { type: argon2.argon2id, memoryCost: memoryKiB, timeCost, parallelism });
  }

  private async compareNow(password: string, hash: string): Promise<boolean> {
    if (isBcrypt(hash)) return this.bcrypt.compare(forBcrypt(password), hash);
    if (isArgon2(hash)) return this.argon2().verify(hash, password.normalize('NFC')).catch(() => false);
    return false;
  }

  /** Loaded on first use, so a bcrypt-only deployment never needs the Argon2 binding. */
  private argon2(): Argon2Like {
    this.argon2Binding ??= require('argon2') as Argon2Like;
    return this.argon2Binding;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.limit(() => this.hashNow('scaikey-dummy-password-for-timing'));
    return this.dummyHash;
  }
}
