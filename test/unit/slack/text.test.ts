import { describe, expect, it } from 'vitest';
import { esc } from '../../../src/slack/blocks/kit.ts';
import { canonicalEmoji, sameEmoji } from '../../../src/slack/emoji.ts';
import { fromSlack, mentions, withoutMention } from '../../../src/slack/text.ts';

describe('text from Slack, decoded once at the edge', () => {
  it('turns entities back into the characters people typed, once', () => {
    expect(fromSlack('Fish &amp; chips &lt;3 &gt; fries')).toBe('Fish & chips <3 > fries');
    // Someone typed the entity itself: it arrives double-escaped and comes back as they typed it.
    expect(fromSlack('write &amp;amp; not &amp;')).toBe('write &amp; not &');
  });

  it('makes markup readable: people, channels, special mentions, links, dates', () => {
    expect(fromSlack('ask <@U123|ana> in <#C9|launch>')).toBe('ask @ana in #launch');
    expect(fromSlack('ask <@W123> in <#C9>')).toBe('ask @W123 in #C9');
    expect(fromSlack('<!channel> <!here> <!everyone> <!subteam^S1|@design>')).toBe('@channel @here @everyone @design');
    expect(fromSlack('see <https://x.example/a?b=1&amp;c=2|our site> or <https://y.example>')).toBe(
      'see our site (https://x.example/a?b=1&c=2) or https://y.example',
    );
    expect(fromSlack('mail <mailto:a@b.example|a@b.example>')).toBe('mail a@b.example');
    expect(fromSlack('on <!date^1700000000^{date_short}|Nov 14>')).toBe('on Nov 14');
  });

  it('escaping what was decoded gives back what Slack sent (escape once, decode once)', () => {
    for (const typed of ['Fish & chips <3', 'a < b > c & d', '&amp; literal']) {
      const wire = esc(typed);
      expect(fromSlack(wire)).toBe(typed);
      expect(esc(fromSlack(wire))).toBe(wire);
    }
  });

  it("finds and removes the bot's mention, in either form Slack sends it", () => {
    expect(mentions('<@U0BOT> warmer', 'U0BOT')).toBe(true);
    expect(mentions('<@U0BOT|adcreative> warmer', 'U0BOT')).toBe(true);
    expect(mentions('<@U0BOTTLE> warmer', 'U0BOT')).toBe(false);
    expect(withoutMention('<@U0BOT> warmer <@U0BOT|adcreative>', 'U0BOT').trim()).toBe('warmer');
  });
});

describe('reaction names', () => {
  it('match by canonical name, alias and skin tone', () => {
    expect(sameEmoji('+1', '+1')).toBe(true);
    expect(sameEmoji('+1::skin-tone-4', 'thumbsup')).toBe(true);
    expect(sameEmoji('thumbsup', ':+1:')).toBe(true);
    expect(sameEmoji('heart', 'red_heart')).toBe(true);
    expect(sameEmoji('-1', '+1')).toBe(false);
    expect(sameEmoji('heart_eyes', 'heart')).toBe(false);
    expect(canonicalEmoji('Fire')).toBe('fire');
  });
});
