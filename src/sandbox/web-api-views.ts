/**
 * Views in the Slack stand-in: modals opened with a trigger id that is good once and for 3 s
 * (docs.slack.dev/reference/methods/views.open), updated by id or external id with an optional
 * hash (views.update), and the App Home (views.publish); titles at most 24 characters, up to 100
 * blocks (docs.slack.dev/reference/views/modal-views).
 */
import { checkBlocks } from './slack-rules.ts';
import { type Args, fail, type Handler, parseJsonArg } from './web-api-wire.ts';
import type { ChangeEvent, FakeUser, FakeView } from './workspace.ts';

/** What the view methods need of the workspace. */
export interface ViewWorkspace {
  readonly triggers: Map<string, { user: string; issued: number; used: boolean }>;
  readonly views: Map<string, FakeView>;
  readonly homes: Map<string, FakeView>;
  readonly users: Map<string, FakeUser>;
  newId(prefix: string): string;
  nextTs(): string;
  changed(e: ChangeEvent): void;
}

function viewArg(args: Args): Record<string, unknown> {
  const view = parseJsonArg(args.view, 'view') as Record<string, unknown> | undefined;
  if (!view || typeof view !== 'object') return fail('invalid_arguments', { detail: 'view is required' });
  const type = view.type;
  if (type !== 'modal' && type !== 'home') return fail('invalid_arguments', { detail: 'view.type must be modal or home' });
  const problem = checkBlocks(view.blocks, 100);
  if (problem) return fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
  if (type === 'modal') {
    const title = (view.title as { text?: string } | undefined)?.text;
    if (!title || title.length > 24)
      return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] title must be 1-24 characters'] } });
  }
  return view;
}

export function viewMethods(ws: ViewWorkspace): Record<string, Handler> {
  const methods: Record<string, Handler> = {
    'views.open': (args) => {
      const trig = typeof args.trigger_id === 'string' ? ws.triggers.get(args.trigger_id) : undefined;
      if (!trig) return fail('invalid_trigger_id');
      if (trig.used || Date.now() - trig.issued > 3000) return fail('expired_trigger_id');
      trig.used = true;
      const view = viewArg(args);
      const v: FakeView = {
        id: ws.newId('V'),
        user: trig.user,
        type: 'modal',
        view,
        hash: ws.nextTs(),
        external_id: view.external_id as string | undefined,
      };
      ws.views.set(v.id, v);
      ws.changed({ type: 'view_opened', view: v });
      return { view: { id: v.id, hash: v.hash, ...view } };
    },
    'views.push': (args, ctx) => methods['views.open'](args, ctx),
    'views.update': (args) => {
      const v =
        typeof args.view_id === 'string' && args.view_id
          ? ws.views.get(args.view_id)
          : [...ws.views.values()].find((x) => x.external_id && x.external_id === args.external_id);
      if (!v) return fail('not_found');
      if (typeof args.hash === 'string' && args.hash && args.hash !== v.hash) return fail('hash_conflict');
      v.view = viewArg(args);
      v.hash = ws.nextTs();
      ws.changed({ type: 'view_updated', view: v });
      return { view: { id: v.id, hash: v.hash, ...v.view } };
    },
    'views.publish': (args) => {
      const user = typeof args.user_id === 'string' ? ws.users.get(args.user_id) : undefined;
      if (!user) return fail('user_not_found');
      const view = viewArg(args);
      if (view.type !== 'home') return fail('invalid_arguments', { detail: 'views.publish takes a home view' });
      const v: FakeView = { id: ws.homes.get(user.id)?.id ?? ws.newId('V'), user: user.id, type: 'home', view, hash: ws.nextTs() };
      ws.homes.set(user.id, v);
      ws.changed({ type: 'home_published', view: v });
      return { view: { id: v.id, hash: v.hash, ...view } };
    },
  };
  return methods;
}
