import { describe, expect, it } from 'vitest';
import { parseBrief } from '../../../src/generate/brief-parse.ts';
import { detectLanguage } from '../../../src/generate/lexicon.ts';

describe('reading a brief', () => {
  it('tells the product from its offer, occasion, audience and tone', () => {
    expect(parseBrief('Summer sale on running shoes for young urban runners, energetic and bright')).toMatchObject({
      language: 'en',
      product: 'running shoes',
      offer: { short: 'Summer sale' },
      occasion: 'summer',
      audience: 'young urban runners',
      tone: ['energetic', 'bright'],
      intent: 'sale',
    });
    expect(parseBrief('Lightweight trail backpack for weekend hikers, 30% off this weekend')).toMatchObject({
      product: 'trail backpack',
      qualities: ['lightweight'],
      offer: { short: '30% off', full: '30% off this weekend' },
      audience: 'weekend hikers',
    });
    expect(parseBrief('Small-batch coffee, roasted Monday, at your door Wednesday')).toMatchObject({
      product: 'coffee',
      qualities: ['small-batch'],
      benefits: ['roasted Monday', 'at your door Wednesday'],
      intent: 'order',
    });
  });

  it('a "for" phrase is an audience only when it names people', () => {
    expect(parseBrief('Plant-based burgers for the grill season')).toMatchObject({ product: 'burgers', occasion: 'grill season' });
    expect(parseBrief('Plant-based burgers for the grill season').audience).toBeUndefined();
    expect(parseBrief('Gentle face wash for sensitive skin, in a calm, caring tone')).toMatchObject({
      product: 'face wash',
      qualities: ['gentle'],
      benefits: ['for sensitive skin'],
      tone: ['calm', 'caring'],
    });
    expect(parseBrief('Budget app for students who hate spreadsheets').audience).toBe('students who hate spreadsheets');
    expect(parseBrief('Trainers for sneakers fans').audience).toBe('sneakers fans');
  });

  it('reads Chinese: 的 joins the quality to the product; 面向… is the audience', () => {
    expect(parseBrief('清爽不油腻的防晒霜，面向年轻女性')).toMatchObject({
      language: 'zh',
      product: '防晒霜',
      qualities: ['清爽不油腻'],
      audience: '年轻女性',
    });
    expect(parseBrief('夏季跑鞋大促，全场8折，面向年轻跑者，风格活力')).toMatchObject({
      product: '跑鞋',
      occasion: '夏季',
      offer: { short: '全场8折' },
      audience: '年轻跑者',
      tone: ['风格活力'],
      intent: 'sale',
    });
  });

  it('reads form labels as fields, and structured fields win over the text', () => {
    const typed = parseBrief('Product: Trail pack. Audience: weekend hikers. Tone: playful.');
    expect(typed).toMatchObject({ product: 'Trail pack', audience: 'weekend hikers', tone: ['playful'] });
    expect(typed.hidden).toContain('weekend hikers');
    const given = parseBrief('Trail pack for weekend hikers', {
      product: 'Trail pack',
      audience: 'weekend hikers',
      offer: 'Free shipping',
    });
    expect(given).toMatchObject({ product: 'Trail pack', audience: 'weekend hikers', offer: { short: 'Free shipping' } });
    expect(parseBrief('产品：防晒霜。受众：年轻女性。语气：清新。')).toMatchObject({ product: '防晒霜', audience: '年轻女性' });
  });

  it('knows the language of short briefs', () => {
    expect(detectLanguage('Leichter Wanderrucksack, 20% Rabatt')).toBe('de');
    expect(detectLanguage('Sac à dos léger, livraison offerte')).toBe('fr');
    expect(detectLanguage('Mochila ligera, envío gratis')).toBe('es');
    expect(detectLanguage('週末のハイキングに')).toBe('ja');
    expect(detectLanguage('Lumen 防晒霜')).toBe('zh');
    expect(detectLanguage('Trail pack for day hikes')).toBe('en');
  });
});
