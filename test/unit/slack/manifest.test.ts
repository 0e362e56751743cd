import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CALLBACK } from '../../../src/slack/blocks/ids.ts';

const manifest = readFileSync(new URL('../../../manifest.yml', import.meta.url), 'utf8');
const list = (key: string) => {
  const m = new RegExp(`${key}:\\n((?:\\s+- .+\\n)+)`).exec(manifest);
  return (m?.[1] ?? '')
    .split('\n')
    .map((l) => l.replace(/^\s*- /, '').trim())
    .filter(Boolean);
};

describe('manifest.yml', () => {
  it('subscribes to every event the app listens to, and only those', () => {
    expect(list('bot_events').sort()).toEqual([
      'app_home_opened',
      'message.channels',
      'message.groups',
      'reaction_added',
      'reaction_removed',
    ]);
  });

  it('asks for the least scopes the bot uses', () => {
    expect(list('bot').sort()).toEqual([
      'channels:history',
      'chat:write',
      'commands',
      'files:read',
      'files:write',
      'groups:history',
      'reactions:read',
      'reactions:write',
      'users:read',
    ]);
  });

  it('declares the command with a usage hint, the shortcut and interactivity on one endpoint', () => {
    expect(manifest).toContain('command: /adcreative');
    expect(manifest).toMatch(/usage_hint: ".*--variants N/);
    expect(manifest).toContain(`callback_id: ${CALLBACK.addToLibrary}`);
    expect(manifest.match(/\/slack\/events/g)).toHaveLength(3);
    expect(manifest).toMatch(/interactivity:\n\s+is_enabled: true/);
  });
});
