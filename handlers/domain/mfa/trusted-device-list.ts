import { ObjectId } from 'mongodb';
import type { TrustedDeviceStore } from '../../store/trusted-devices.ts';
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
    private readonly devices: TrustedDeviceStore,
    private readonly clock: Clock,
  ) {}

  async list(user: UserDoc): Promise<TrustedDeviceView[]> {
    const devices = await this.devices.listLive(user._id, user.tenant_id, this.clock.now(), 100);
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
    return this.devices.countLive(user._id, user.tenant_id, this.clock.now());
  }

  /** True when a live device of this user was revoked by this call. */
  async revoke(user: UserDoc, deviceId: string): Promise<boolean> {
    if (!/^[0-9a-f]{24}$/i.test(deviceId)) return false;
    return this.devices.revokeLive(new ObjectId(deviceId), user._id, user.tenant_id, this.clock.now());
  }

  async revokeAll(user: UserDoc): Promise<number> {
    return this.devices.revokeAllLive(user._id, user.tenant_id, this.clock.now());
  }
}
