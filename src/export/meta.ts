/**
 * Meta: one ad creative per variant, ready for the Marketing API (`POST act_<id>/adcreatives`),
 * built as an `asset_feed_spec` with one image per placement (1:1 for feeds and the rest, 4:5 for
 * Facebook feed and Instagram stream, 9:16 for Stories and Reels) chosen by
 * `asset_customization_rules` on image labels, its title, body and call-to-action type; and the ad
 * (`POST act_<id>/ads`) created PAUSED. Ids Meta assigns (image hashes, page, ad set, the creative)
 * are placeholders until `export --publish` fills them in (meta-api.ts). A summary.md says the same
 * in words for the person setting the ads up by hand.
 */
import { choose, derivedTexts } from './copy.ts';
import type { ExportImages } from './images.ts';
import { checkImage, checkText, META, META_CTA_TYPES, type Violation } from './limits.ts';
import type { ExportCreative, ExportSettings, PlatformAd, PlatformExport, SlotImage } from './types.ts';

export const META_FILES = { creatives: 'meta/ad-creatives.json', summary: 'meta/summary.md' };

/** The placeholders in the JSON that the person (or `--publish`) replaces with Meta's ids. */
export const META_PLACEHOLDERS = {
  page: '{PAGE_ID}',
  adset: '{AD_SET_ID}',
  creative: '{CREATIVE_ID}',
  image: (path: string) => `{IMAGE_HASH:${path}}`,
};

type CtaType = (typeof META_CTA_TYPES)[number];

/** The call-to-action type a CTA's words ask for (several languages); LEARN_MORE when none matches. */
export function metaCtaType(cta: string): CtaType {
  const t = cta.toLocaleLowerCase();
  const rules: [RegExp, CtaType][] = [
    [/\b(shop|einkaufen|acheter|comprar ya)\b|jetzt shoppen|立即购买|去购买|购物/u, 'SHOP_NOW'],
    [/\b(buy|kaufen|achetez|compra)\b|购买/u, 'BUY_NOW'],
    [/\b(order|bestellen|commander|pedir)\b|订购|下单/u, 'ORDER_NOW'],
    [/\b(sign up|signup|join|register|anmelden|registrieren|inscri)|注册|加入/u, 'SIGN_UP'],
    [/\bsubscribe|abonnieren|s'abonner|订阅/u, 'SUBSCRIBE'],
    [/\b(book|buchen|réserver|reservar)\b|预订/u, 'BOOK_TRAVEL'],
    [/\b(download|get the app|install|herunterladen|télécharger)|下载/u, 'DOWNLOAD'],
    [/\b(contact|call us|kontakt)|联系/u, 'CONTACT_US'],
    [/\bapply|bewerben|postuler|申请/u, 'APPLY_NOW'],
    [/\bquote|angebot anfordern|devis/u, 'GET_QUOTE'],
    [/\b(offer|deal|claim|get \d+%|rabatt|angebot)|优惠/u, 'GET_OFFER'],
    [/\b(see more|view|ansehen)\b/u, 'SEE_MORE'],
  ];
  return rules.find(([re]) => re.test(t))?.[1] ?? 'LEARN_MORE';
}

const SLOTS = [
  { key: '1x1', format: 'square', rule: META.square },
  { key: '4x5', format: 'portrait', rule: META.portrait },
  { key: '9x16', format: 'story', rule: META.story },
] as const;

export interface MetaAdEntry {
  ad_key: string;
  label: string;
  role: string;
  content_hash: string;
  /** Image files by placement label, for upload to `act_<id>/adimages` (their hashes go where the placeholders are). */
  images: Record<string, string>;
  adcreative: Record<string, unknown>;
  ad: Record<string, unknown>;
}

export async function metaExport(creatives: ExportCreative[], s: ExportSettings, images: ExportImages): Promise<PlatformExport> {
  const warnings: string[] = [];
  if (!s.finalUrl) warnings.push('No final URL is set (EXPORT_FINAL_URL or --final-url): link_urls is left for you to fill in.');
  const entries: MetaAdEntry[] = [];
  const ads: PlatformAd[] = [];
  const summary: string[] = [`# Meta ads — ${s.campaign}`, ''];
  for (const c of creatives) {
    const derived = derivedTexts(c.copy, s.brand?.displayName);
    const title = choose({ approved: c.copy.headline, derived, rule: META.headline, n: 1 });
    const body = choose({ approved: c.copy.body, derived: derived.slice(1), rule: META.primaryText, n: 1 });
    const slots: { key: string; img: SlotImage }[] = [];
    const missing: string[] = [];
    for (const slot of SLOTS) {
      const img = await images.format(c, slot.format);
      if (img) slots.push({ key: slot.key, img });
      else missing.push(`a ${slot.rule.slot} image (render the ${slot.format} format)`);
    }
    if (!title.length) missing.push('a headline of at most 27 characters');
    if (!body.length) missing.push('primary text of at most 125 characters');
    const label = (k: string) => `${c.adKey}-${k}`;
    const imgs = Object.fromEntries(slots.map((x) => [x.key, x.img.path]));
    ads.push({
      adKey: c.adKey,
      label: c.label,
      included: !missing.length,
      why: missing.length ? `left out: needs ${missing.join(', ')}` : undefined,
      texts: { title, body },
      images: imgs,
    });
    if (missing.length) continue;
    const cta = metaCtaType(c.copy.cta);
    const name = `${c.adKey} ${c.label} · ${c.copy.headline}`.slice(0, 100);
    entries.push({
      ad_key: c.adKey,
      label: c.label,
      role: c.role,
      content_hash: c.hash,
      images: imgs,
      adcreative: {
        name,
        object_story_spec: { page_id: META_PLACEHOLDERS.page },
        asset_feed_spec: {
          images: slots.map((x) => ({ hash: META_PLACEHOLDERS.image(x.img.path), adlabels: [{ name: label(x.key) }] })),
          titles: [{ text: title[0].text }],
          bodies: [{ text: body[0].text }],
          call_to_action_types: [cta],
          link_urls: [{ website_url: s.finalUrl ?? '' }],
          ad_formats: ['SINGLE_IMAGE'],
          optimization_type: 'PLACEMENT',
          asset_customization_rules: [
            {
              customization_spec: {
                publisher_platforms: ['facebook', 'instagram'],
                facebook_positions: ['feed'],
                instagram_positions: ['stream'],
              },
              image_label: { name: label('4x5') },
              priority: 1,
            },
            {
              customization_spec: {
                publisher_platforms: ['facebook', 'instagram'],
                facebook_positions: ['story', 'facebook_reels'],
                instagram_positions: ['story', 'reels'],
              },
              image_label: { name: label('9x16') },
              priority: 2,
            },
            {
              customization_spec: { publisher_platforms: ['facebook', 'instagram', 'audience_network', 'messenger'] },
              image_label: { name: label('1x1') },
              priority: 3,
            },
          ],
        },
      },
      ad: {
        name: `${c.adKey} ${c.label}`,
        adset_id: META_PLACEHOLDERS.adset,
        creative: { creative_id: META_PLACEHOLDERS.creative },
        status: 'PAUSED',
      },
    });
    summary.push(
      `## ${c.adKey} — variant ${c.label}${c.role === 'winner' ? ' (the winner)' : c.role === 'sibling' ? ' (a sibling of the winner, to test beside it)' : ''}`,
      '',
      `- Headline: ${title[0].text}${title[0].source === 'approved' ? '' : ` _(shortened from the approved “${c.copy.headline}”: ${title[0].source})_`}`,
      `- Primary text: ${body[0].text}${body[0].source === 'approved' ? '' : ` _(${body[0].source})_`}`,
      `- Call to action: ${cta} (from “${c.copy.cta}”)`,
      `- Images: 1:1 ${imgs['1x1']} (feeds, Audience Network, Messenger) · 4:5 ${imgs['4x5']} (Facebook feed, Instagram feed) · 9:16 ${imgs['9x16']} (Stories, Reels; 250 px top and bottom kept free of text)`,
      `- Ad: “${c.adKey} ${c.label}”, created PAUSED. Content hash ${c.hash}.`,
      '',
    );
  }
  summary.push(
    'Set up by hand: upload the images in Ads Manager (or `act_<id>/adimages`), replace each {IMAGE_HASH:…} with the hash Meta returns, {PAGE_ID} with your Page and {AD_SET_ID} with the ad set; create the creative, then the ad with its id. `adcreative export --publish` does this through the Marketing API.',
  );
  const files = entries.length
    ? [
        { path: META_FILES.creatives, data: `${JSON.stringify(entries, null, 2)}\n` },
        { path: META_FILES.summary, data: `${summary.join('\n')}\n` },
      ]
    : [];
  return { platform: 'meta', files, ads, warnings };
}

/** Every limit of the Meta entries as written. */
export function checkMetaEntries(entries: MetaAdEntry[], image: (path: string) => SlotImage | undefined): Violation[] {
  const out: Violation[] = [];
  for (const e of entries) {
    const spec = e.adcreative.asset_feed_spec as {
      titles: { text: string }[];
      bodies: { text: string }[];
      call_to_action_types: string[];
      images: { adlabels: { name: string }[] }[];
    };
    const where = e.ad_key;
    if (spec.titles.length > META.titles.max || spec.bodies.length > META.bodies.max)
      out.push({ platform: 'meta', where, rule: 'more than 5 titles or bodies', doc: META.headline.doc });
    for (const t of spec.titles) out.push(...checkText(t.text, META.headline, where, 'meta'));
    for (const b of spec.bodies) out.push(...checkText(b.text, META.primaryText, where, 'meta'));
    for (const cta of spec.call_to_action_types)
      if (!(META_CTA_TYPES as readonly string[]).includes(cta))
        out.push({ platform: 'meta', where, rule: `call to action ${cta} is not a known type`, doc: 'Marketing API, CallToAction' });
    if ((e.ad as { status?: string }).status !== 'PAUSED')
      out.push({ platform: 'meta', where, rule: 'the ad is not PAUSED', doc: 'issue 17' });
    for (const slot of SLOTS) {
      const path = e.images[slot.key];
      const img = path ? image(path) : undefined;
      if (!img) out.push({ platform: 'meta', where, rule: `${slot.rule.slot} image missing`, doc: slot.rule.doc });
      else out.push(...checkImage(img, slot.rule, where, 'meta', img.safe));
    }
  }
  return out;
}
