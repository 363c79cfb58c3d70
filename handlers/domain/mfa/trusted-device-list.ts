import { ObjectId } from 'mongodb';
import type { Database } from '../../store/database.ts';
import type { UserDoc } from '../../store/users.ts';
import type { Clock } from '../../core/clock.ts';

export interface TrustedDeviceView {
  id: string;
  device_fingerprint: string | null;
  user_agent: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string;
}

/** The user's view of their trusted devices: the live ones, and revoking them. */
export class TrustedDeviceList {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
  ) {}

  private live(user: UserDoc) {
    return { user_id: user._id, tenant_id: user.tenant_id, revoked_at: null, expires_at: { $gt: this.clock.now() } };
  }

  async list(user: UserDoc): Promise<TrustedDeviceView[]> {
    const devices = await this.database.trustedDevices.find(this.live(user)).sort({ created_at: -1, _id: -1 }).limit(100).toArray();
    return devices.map((d) => ({
      id: d._id.toHexString(),
      device_fingerprint: d.device_fingerprint,
      user_agent: d.user_agent,
      created_at: d.created_at.toISOString(),
      last_used_at: d.last_used_at ? d.last_used_at.toISOString() : null,
      expires_at: d.expires_at.toISOString(),
    }));
  }

  count(user: UserDoc): Promise<number> {
    return this.database.trustedDevices.countDocuments(this.live(user));
  }

  /** True when a live device of this user was revoked by this call. */
  async revoke(user: UserDoc, deviceId: string): Promise<boolean> {
    if (!/^[0-9a-f]{24}$/i.test(deviceId)) return false;
    const result = await this.database.trustedDevices.updateOne({ _id: new ObjectId(deviceId), ...this.live(user) }, { $set: { revoked_at: this.clock.now() } });
    return result.modifiedCount === 1;
  }

  async revokeAll(user: UserDoc): Promise<number> {
    const result = await this.database.trustedDevices.updateMany(this.live(user), { $set: { revoked_at: this.clock.now() } });
    return result.modifiedCount;
  }
}
