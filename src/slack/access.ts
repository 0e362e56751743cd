/**
 * Who may do what in Slack terms: workspace admins (the configured list, or Slack's own admin
 * and owner flags, asked once per ten minutes per person) and the channels briefs are taken in.
 */
import type { SlackThread } from './thread.ts';

export interface AccessSettings {
  /** Users treated as admins whatever Slack says. */
  adminUserIds: string[];
  /** Channel ids or names (#name) that take briefs; empty: every channel. */
  channelAllowlist: string[];
}

const ADMIN_TTL_MS = 10 * 60_000;

export class Access {
  private readonly cache = new Map<string, { admin: boolean; at: number }>();

  constructor(
    private readonly thread: Pick<SlackThread, 'userFlags'>,
    readonly settings: AccessSettings,
  ) {}

  async isAdmin(user: string): Promise<boolean> {
    if (this.settings.adminUserIds.includes(user)) return true;
    const hit = this.cache.get(user);
    if (hit && Date.now() - hit.at < ADMIN_TTL_MS) return hit.admin;
    try {
      const { admin } = await this.thread.userFlags(user);
      this.cache.set(user, { admin, at: Date.now() });
      return admin;
    } catch {
      // Unknown is not admin; asked again next time.
      return false;
    }
  }

  channelAllowed(channelId: string, channelName?: string): boolean {
    const list = this.settings.channelAllowlist;
    if (!list.length) return true;
    return list.some((c) => c === channelId || c.replace(/^#/, '') === channelName);
  }
}
