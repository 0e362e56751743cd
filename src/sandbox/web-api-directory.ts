/**
 * Who and where in the Slack stand-in: users.info, users.list (cursor pagination: limit up to
 * 1000, next_cursor empty on the last page; docs.slack.dev/reference/methods/users.list),
 * conversations.info and conversations.replies, each behind the scope Slack requires for that
 * kind of conversation (docs.slack.dev/reference/methods/conversations.info).
 */
import { conversationScope } from './slack-rules.ts';
import { type Args, fail, type Handler } from './web-api-wire.ts';
import type { FakeChannel, FakeMessage, FakeUser } from './workspace.ts';

/** What these methods need of the workspace. */
export interface DirectoryWorkspace {
  readonly teamId: string;
  readonly botUserId: string;
  readonly users: Map<string, FakeUser>;
  channelFor(id: unknown, needMember?: boolean): FakeChannel;
  requireScope(scope: string): void;
  message(channel: string, ts: string): FakeMessage | undefined;
  thread(channel: string, ts: string): FakeMessage[];
  messageJson(m: FakeMessage): Args;
}

export function directoryMethods(ws: DirectoryWorkspace): Record<string, Handler> {
  return {
    'users.info': (args) => {
      const u = typeof args.user === 'string' ? ws.users.get(args.user) : undefined;
      if (!u) return fail('user_not_found');
      return {
        user: {
          id: u.id,
          team_id: ws.teamId,
          name: u.name,
          real_name: u.realName ?? u.name,
          is_admin: !!u.isAdmin,
          is_owner: !!u.isOwner,
          is_bot: !!u.isBot,
          profile: { display_name: u.name, real_name: u.realName ?? u.name },
        },
      };
    },
    // users.list: cursor pagination as Slack documents it (limit up to 1000; next_cursor empty on the last page).
    'users.list': (args) => {
      const limit = args.limit === undefined ? 0 : Number(args.limit);
      if (!Number.isInteger(limit) || limit < 0 || limit > 1000) return fail('invalid_limit');
      const all = [...ws.users.values()];
      const start = typeof args.cursor === 'string' && args.cursor ? Number(Buffer.from(args.cursor, 'base64').toString()) : 0;
      if (!Number.isInteger(start) || start < 0 || start > all.length) return fail('invalid_cursor');
      const page = all.slice(start, limit ? start + limit : undefined);
      const next = start + page.length < all.length ? Buffer.from(String(start + page.length)).toString('base64') : '';
      return {
        members: page.map((u) => ({
          id: u.id,
          team_id: ws.teamId,
          name: u.name,
          real_name: u.realName ?? u.name,
          is_bot: !!u.isBot,
          deleted: false,
          profile: { display_name: u.name, display_name_normalized: u.name, real_name: u.realName ?? u.name },
        })),
        response_metadata: { next_cursor: next },
      };
    },
    'conversations.info': (args) => {
      const ch = ws.channelFor(args.channel, false);
      ws.requireScope(conversationScope('read', ch));
      return {
        channel: {
          id: ch.id,
          name: ch.name,
          is_channel: !ch.isPrivate && !ch.isIm && !ch.isMpim,
          is_group: ch.isPrivate && !ch.isIm && !ch.isMpim,
          is_im: !!ch.isIm,
          is_mpim: !!ch.isMpim,
          is_private: ch.isPrivate,
          is_member: ch.members.includes(ws.botUserId),
          num_members: ch.members.length,
        },
      };
    },
    'conversations.replies': (args) => {
      const ch = ws.channelFor(args.channel);
      ws.requireScope(conversationScope('history', ch));
      const ts = typeof args.ts === 'string' ? args.ts : '';
      if (!ws.message(ch.id, ts)) return fail('thread_not_found');
      const messages = ws.thread(ch.id, ts).map((m) => ws.messageJson(m));
      return { messages, has_more: false };
    },
  };
}
