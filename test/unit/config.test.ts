import { describe, expect, it } from 'vitest';
import { loadConfig, settingsMarkdown } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

describe('config', () => {
  it('uses the documented defaults when nothing is set', () => {
    const cfg = loadConfig({});
    expect(cfg.dataDir).toBe('./data');
    expect(cfg.port).toBe(3000);
    expect(cfg.clipDevice).toBe('auto');
    expect(cfg.slackBotToken).toBeUndefined();
  });

  it('names the variable, the expectation and the value given', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT must be an integer between 1 and 65535; got "eighty"/);
    expect(() => loadConfig({ CLIP_DEVICE: 'tpu' })).toThrow(/CLIP_DEVICE must be one of auto, cpu, cuda, webgpu; got "tpu"/);
  });

  it('reports every bad setting at once', () => {
    expect(() => loadConfig({ PORT: '0', CLIP_PRECISION: 'bf16' })).toThrow(/PORT[\s\S]*CLIP_PRECISION/);
  });

  it('never echoes a secret back', () => {
    try {
      loadConfig({ SLACK_BOT_TOKEN: 'xoxp-very-secret-user-token' });
      expect.unreachable();
    } catch (e) {
      expect(String((e as Error).message)).toMatch(/SLACK_BOT_TOKEN must be a token starting with "xoxb-"/);
      expect(String((e as Error).message)).not.toContain('very-secret');
    }
  });

  it('renders every setting into the README table', () => {
    const md = settingsMarkdown();
    expect(md).toContain('`CLIP_MODEL_DIR`');
    expect(md).toContain('`DATA_DIR` | `./data`');
  });
});

describe('README configuration table', () => {
  it('lists every setting exactly as src/config.ts defines it (run `npm run -s adcreative -- config --write-readme`)', async () => {
    const { readFileSync } = await import('node:fs');
    const { withConfigTable } = await import('../../src/cli/config-command.ts');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(withConfigTable(readme)).toBe(readme);
  });
});
