import { createHmac, randomInt } from 'node:crypto';
import type { UserDoc, UserStore } from '../../store/users.ts';
import type { Clock } from '../../core/clock.ts';

const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';

/**
 * Ten single-use recovery codes, shown once. Stored as HMACs keyed by a server secret, so a
 * database dump alone cannot be brute-forced offline; use is claimed atomically.
 */
export class BackupCodes {
  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    private readonly pepper: Buffer,
  ) {}

  generate(count = 10): { plain: string[]; stored: string[] } {
    const plain = Array.from({ length: count }, () => {
      const chars = Array.from({ length: 10 }, () => alphabet[randomInt(alphabet.length)]).join('');
      return `${chars.slice(0, 5)}-${chars.slice(5)}`;
    });
    return { plain, stored: plain.map((code) => this.digest(code)) };
  }

  async consume(user: UserDoc, code: string): Promise<boolean> {
    return this.users.claimBackupCode(user._id, this.digest(code), this.clock.now());
  }

  private digest(code: string): string {
    const canonical = code.toLowerCase().replace(/[^a-z0-9]/g, '');
    return createHmac('sha256', this.pepper).update(canonical).digest('base64url');
  }
}
