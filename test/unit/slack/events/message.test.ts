import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { makeMessageEvent } from '../../../../src/slack/events/message.ts';

type Args = SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs;

/** Which thread replies the handler hands to the round flow as feedback. */
async function collected(events: Record<string, unknown>[]): Promise<string[]> {
  const texts: string[] = [];
  const runner = {
    feedback: async (p: { text: string }) => {
      texts.push(p.text);
      return 'noted' as const;
    },
    work: { track: (work: () => Promise<unknown>) => void work() },
  } as unknown as Parameters<typeof makeMessageEvent>[0]['runner'];
  const handler = makeMessageEvent({ runner, thread: { react: async () => {} }, botUserId: 'U0BOT' });
  for (const event of events) await handler({ event } as unknown as Args);
  await new Promise((r) => setImmediate(r));
  return texts;
}

const reply = { type: 'message', channel: 'C1', user: 'U0BOB', ts: '2.0', thread_ts: '1.0' };

describe('thread replies as feedback', () => {
  it('counts a plain reply, one also sent to the channel, and one with a file attached', async () => {
    expect(
      await collected([
        { ...reply, text: 'warmer colours' },
        { ...reply, ts: '3.0', subtype: 'thread_broadcast', text: 'shorter headline' },
        { ...reply, ts: '4.0', subtype: 'file_share', text: 'more like this photo' },
      ]),
    ).toEqual(['warmer colours', 'shorter headline', 'more like this photo']);
  });

  it('ignores the bot itself, other bots, edits, deletions, joins and top-level messages', async () => {
    expect(
      await collected([
        { ...reply, user: 'U0BOT', text: 'own message' },
        { ...reply, user: 'U0BOT', subtype: 'file_share', text: 'own upload' },
        { ...reply, bot_id: 'B0OTHER', text: 'another bot' },
        { ...reply, subtype: 'bot_message', text: 'bot message' },
        { ...reply, subtype: 'message_changed', text: 'edit' },
        { ...reply, subtype: 'message_deleted', text: 'deleted' },
        { ...reply, subtype: 'channel_join', text: 'joined' },
        { type: 'message', channel: 'C1', user: 'U0BOB', ts: '5.0', text: 'top level' },
        { ...reply, ts: '1.0', text: 'the parent itself' },
      ]),
    ).toEqual([]);
  });
});
