import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryUri, loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/errors.ts';
import { librarySettings } from '../../../src/library/open.ts';

describe('library settings', () => {
  it('puts the library under DATA_DIR unless LANCEDB_URI says otherwise', () => {
    expect(libraryUri(loadConfig({ DATA_DIR: '/srv/ad' }))).toBe(join('/srv/ad', 'lancedb'));
    expect(libraryUri(loadConfig({ DATA_DIR: 'rel' }))).toBe(join(resolve('rel'), 'lancedb'));
    expect(libraryUri(loadConfig({ DATA_DIR: '/srv/ad', LANCEDB_URI: '$DATA_DIR/other' }))).toBe(join('/srv/ad', 'other'));
    expect(libraryUri(loadConfig({ LANCEDB_URI: 's3://bucket/creatives' }))).toBe('s3://bucket/creatives');
  });

  it('maps the environment onto the library settings', () => {
    const s = librarySettings(
      loadConfig({
        LIBRARY_WEIGHT_IMAGE: '0.5',
        LIBRARY_WEIGHT_CAPTION: '0.5',
        LIBRARY_WEIGHT_CTR: '0',
        LIBRARY_CTR_PRIOR_STRENGTH: '2500',
        IMAGE_MAX_BYTES: '1000',
      }),
    );
    expect(s).toMatchObject({
      weights: { image: 0.5, caption: 0.5, ctr: 0 },
      ctrPriorStrength: 2500,
      indexMinRows: 20000,
      nearDuplicate: 0.985,
    });
    expect(s.imageLimits.maxBytes).toBe(1000);
    expect(librarySettings(loadConfig({})).ctrPriorStrength).toBe('auto');
  });

  it('names the variable and what it expects when a value is bad', () => {
    expect(() => loadConfig({ LIBRARY_CTR_PRIOR_STRENGTH: 'strong' })).toThrow(ConfigError);
    expect(() => loadConfig({ LIBRARY_CTR_PRIOR_STRENGTH: 'strong' })).toThrow(/LIBRARY_CTR_PRIOR_STRENGTH must be a number/);
    expect(() => loadConfig({ LIBRARY_INDEX_MIN_ROWS: '10' })).toThrow(/LIBRARY_INDEX_MIN_ROWS must be an integer between 256/);
    expect(() => loadConfig({ LIBRARY_NEAR_DUPLICATE: '1.5' })).toThrow(/LIBRARY_NEAR_DUPLICATE/);
  });
});
