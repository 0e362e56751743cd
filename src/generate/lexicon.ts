/**
 * The words the offline copywriter reads briefs with and writes CTAs in, per language. Rules,
 * not a model: enough to tell a product from its audience, an offer from a tone, and to answer
 * in the brief's language. English and Chinese are covered most; German, French and Spanish get
 * labels, offers, CTAs and the simpler headline forms.
 */

export type Lang = 'en' | 'zh' | 'ja' | 'de' | 'fr' | 'es';

/** What the ad asks people to do, which picks the CTA. */
export type Intent = 'sale' | 'order' | 'app' | 'lead' | 'book' | 'store' | 'learn';

export const CTAS: Record<Intent, Record<Lang, string>> = {
  sale: { en: 'Shop now', zh: '立即购买', ja: '今すぐ購入', de: 'Jetzt kaufen', fr: 'Acheter', es: 'Comprar ahora' },
  order: { en: 'Order now', zh: '立即订购', ja: '今すぐ注文', de: 'Jetzt bestellen', fr: 'Commander', es: 'Pedir ahora' },
  app: { en: 'Download', zh: '立即下载', ja: 'ダウンロード', de: 'Herunterladen', fr: 'Télécharger', es: 'Descargar' },
  lead: { en: 'Sign up', zh: '立即注册', ja: '登録する', de: 'Jetzt anmelden', fr: "S'inscrire", es: 'Regístrate' },
  book: { en: 'Book now', zh: '立即预约', ja: '予約する', de: 'Jetzt buchen', fr: 'Réserver', es: 'Reservar' },
  store: { en: 'Find a store', zh: '查找门店', ja: '店舗を探す', de: 'Filiale finden', fr: 'Trouver un magasin', es: 'Buscar tienda' },
  learn: { en: 'Learn more', zh: '了解更多', ja: '詳しく見る', de: 'Mehr erfahren', fr: 'En savoir plus', es: 'Más información' },
};

/** Intent cues, strongest first: an app brief with a discount is still an app brief. */
export const INTENT_CUES: [Intent, RegExp][] = [
  ['app', /\b(apps?|download|install|ios|android|app store|google play|herunterladen|télécharger|descargar)\b|应用|下载|App|アプリ/iu],
  [
    'lead',
    /\b(sign[ -]?up|newsletter|webinar|register|registration|waitlist|wait list|free trial|demo|quote|consultation|subscribe|join|anmelden|inscri\w*|regístrate|suscríbete)\b|注册|报名|订阅|免费试用|登録/iu,
  ],
  [
    'book',
    /\b(book|booking|test[ -]ride|test[ -]drive|appointment|reservation|reserve|tickets?|buchen|réserv\w*|reserv\w*)\b|预约|预订|试驾|试骑|予約/iu,
  ],
  [
    'order',
    /\b(order (?:now|online|today|yours)|delivery|delivered|at your door|takeaway|bestellen|commander|pedir)\b|外卖|送到|配送|订购|注文/iu,
  ],
  ['store', /\b(in store|in-store|find a store|near you|visit us|our shops?|boutique|tienda)\b|门店|到店|店舗/iu],
  [
    'sale',
    /\b(sale|shop|buy|deals?|discount|clearance|offer|price|% off|off\b|rabatt|angebot|soldes|promo\w*|descuento|oferta|rebajas)\b|%|折|优惠|促|特价|购买|买一送一|包邮|セール|割引/iu,
  ],
];

/** Form labels, in every language we read: never printed, their values are fields. */
export const LABELS: Record<string, 'product' | 'audience' | 'tone' | 'offer' | 'benefit' | 'brand' | 'ignore'> = {
  product: 'product',
  produkt: 'product',
  produit: 'product',
  producto: 'product',
  产品: 'product',
  商品: 'product',
  audience: 'audience',
  'target audience': 'audience',
  target: 'audience',
  'target group': 'audience',
  zielgruppe: 'audience',
  cible: 'audience',
  public: 'audience',
  'public cible': 'audience',
  público: 'audience',
  'público objetivo': 'audience',
  受众: 'audience',
  目标人群: 'audience',
  目标受众: 'audience',
  目标用户: 'audience',
  人群: 'audience',
  ターゲット: 'audience',
  tone: 'tone',
  'tone of voice': 'tone',
  voice: 'tone',
  mood: 'tone',
  style: 'tone',
  ton: 'tone',
  tono: 'tone',
  语气: 'tone',
  调性: 'tone',
  风格: 'tone',
  トーン: 'tone',
  offer: 'offer',
  promotion: 'offer',
  promo: 'offer',
  angebot: 'offer',
  offre: 'offer',
  oferta: 'offer',
  优惠: 'offer',
  促销: 'offer',
  活动: 'offer',
  benefit: 'benefit',
  benefits: 'benefit',
  usp: 'benefit',
  'key message': 'benefit',
  message: 'benefit',
  vorteil: 'benefit',
  avantage: 'benefit',
  beneficio: 'benefit',
  卖点: 'benefit',
  brand: 'brand',
  marke: 'brand',
  marque: 'brand',
  marca: 'brand',
  品牌: 'brand',
  channel: 'ignore',
  format: 'ignore',
  formats: 'ignore',
  渠道: 'ignore',
};

/** Words that describe how an ad should feel, not what it says (English). */
export const TONE_WORDS = new Set(
  `energetic energising energizing bright playful fun funny warm calm bold friendly premium luxurious luxury elegant minimal minimalist
  modern clean vibrant upbeat cheerful confident serious professional casual witty humorous humourous quirky cozy cosy soft
  urgent exciting inspiring inspirational sporty edgy youthful sophisticated earthy dreamy romantic nostalgic retro vintage colourful
  colorful dark moody punchy loud quiet relaxed chill summery festive trustworthy reassuring empowering optimistic positive lively
  cool fresh caring kind supportive soothing tone vibe vibes feel feeling voice style look mood and but yet a an with very slightly little bit tone-of-voice
  aspirational authentic honest direct emotional heartfelt informative educational conversational approachable`.split(/\s+/),
);

/** People nouns: "for <these>" is an audience (targeting), never consumer copy (English). */
export const PERSON_WORDS = new Set(
  `people person everyone anyone women woman men man moms mums mothers dads fathers parents families family kids children teens
  teenagers students pupils couples seniors retirees beginners pros professionals athletes travelers travellers gamers developers
  marketers founders owners businesses startups teams shoppers customers users buyers fans lovers enthusiasts millennials gen-z
  genz boomers adults singles newlyweds brides grooms nurses doctors teachers drivers riders runners hikers cyclists climbers
  campers commuters workers employees freelancers creators readers listeners viewers foodies gardeners homeowners renters tourists
  patients pet-owners dog-owners cat-owners members subscribers audiences consumers households girls boys ladies gentlemen
  youngsters youth grads graduates executives managers leaders designers engineers coders skaters surfers swimmers skiers
  snowboarders golfers gym-goers yogis vegans vegetarians`.split(/\s+/),
);

/** Plural nouns ending like people ("-ers") that are things (English). */
export const NOT_PERSON = new Set(
  `sneakers trainers burgers stickers containers speakers chargers planners covers layers filters powders blenders coolers dinners
  flowers orders numbers letters papers sliders peppers crackers markers printers routers monitors scooters heaters mixers dryers
  trimmers rollers holders sweaters slippers loafers boxers liners cleaners fresheners tumblers waters others offers prayers
  centers centres corners borders folders headers trailers rubbers lockers hangers counters drawers computers controllers
  stroller strollers diapers`.split(/\s+/),
);

/** Seasons and moments an ad may be tied to (English). */
export const OCCASIONS =
  /\b(summer|winter|spring|autumn|fall|holiday|holidays|christmas|xmas|new year|black friday|cyber monday|back[- ]to[- ]school|valentine'?s( day)?|mother'?s day|father'?s day|easter|halloween|thanksgiving|ramadan|diwali|lunar new year|this weekend|weekend|festive season|[a-z]+ season)\b/i;

/** Chinese sale words that ride on a product name ("跑鞋大促"). */
export const ZH_SALE_SUFFIX = /(大促|促销|特惠|特卖|热卖|上新|新品)$/u;

export const ZH_OCCASIONS =
  /(夏日|夏季|夏天|冬日|冬季|冬天|春日|春季|春天|秋日|秋季|秋天|双十一|双11|618|春节|新年|圣诞节?|情人节|母亲节|父亲节|中秋节?|国庆|开学季|周末|假期|暑假|寒假)/u;

/** English adjectives that describe the product (its qualities, not the ad's tone). */
export const QUALITY_WORDS = new Set(
  `new light lightweight ultralight waterproof water-resistant windproof breathable durable compact portable foldable organic natural
  vegan local handmade handcrafted fresh soft gentle great best premium smart wireless electric refillable reusable recycled
  sustainable eco-friendly non-greasy oil-free fragrance-free sugar-free gluten-free dairy-free alcohol-free lightweight
  fast quick easy simple powerful quiet warm cosy cozy comfortable comfy stylish sleek classic iconic affordable everyday all-day
  long-lasting hydrating nourishing refreshing cooling crunchy creamy rich bold spicy sweet tasty delicious healthy hearty strong
  tough rugged versatile waterproofed insulated padded cordless rechargeable free`.split(/\s+/),
);

/** Heuristic for the rest: -proof, -free, -less, -based, hyphenated compounds, … */
export function looksLikeQuality(word: string): boolean {
  const w = word.toLowerCase();
  if (QUALITY_WORDS.has(w)) return true;
  if (/^[a-z]+-(based|batch|free|proof|friendly|made|grown|roasted|resistant|fit|dry|light|weight|day|ready|tested)$/.test(w)) return true;
  return /(proof|less|weight|able|ible|ful)$/.test(w) && !/^(table|cable|vegetable|bible|fable|stable|less)$/.test(w);
}

/** Audience in German, French and Spanish: "für junge Läufer", "pour les randonneurs", "para mujeres". */
export const EU_AUDIENCE =
  /\b(?:für|pour|para)\s+((?:die |den |les |des |los |las |jeunes |junge |jóvenes )?[\p{L}-]*(?:er|innen|eure?s?|euses|istes?|ants|ores|oras|istas|antes|frauen|männer|kinder|eltern|familien|femmes|hommes|enfants|familles|mujeres|hombres|niños|padres|familias)\b(?: (?:du|de|des|del|der|am) [\p{L}-]+)?)/iu;

/** Imperatives that are the CTA, not a selling point: "Book a test ride", "Download today". */
export const CTA_CLAUSE =
  /^(?:book|shop|buy|order|download|install|sign up|register|subscribe|join|learn more|visit|call|get yours|try it|reserve|jetzt|achetez|réservez|compra|reserva|立即|马上|点击)\b[^.!?]{0,30}$/iu;

/** Chinese: whole phrases that name the audience or the tone rather than the product. */
export const ZH_AUDIENCE =
  /(面向|针对|专为|适合|目标是|献给|送给)([^，。；！？,.;!?]{1,16}?)(人群|用户|群体|消费者|女性|男性|女生|男生|妈妈|宝妈|爸爸|学生|白领|上班族|年轻人|跑者|通勤族|青年|家庭|儿童|孩子|老人|情侣|朋友)([^，。；！？,.;!?]{0,6})/u;

export const ZH_TONE_WORDS =
  /^(活力|明亮|温暖|俏皮|高级|简约|清新|可爱|专业|轻松|幽默|热情|温馨|时尚|大气|动感|酷炫|文艺|复古|优雅|自然|亲切|有趣|积极|阳光|活泼|沉稳|奢华|低调|的|和|与|、|风格|语气|调性|感|一点|一些|更|要|，|\s)+$/u;

/** Offers: the pattern and how the headline shows it (the matched text, tidied). */
export const OFFER_PATTERNS: RegExp[] = [
  /\b(?:up to |save |get |take |extra )?\d{1,2}\s?% off(?: (?:everything|all \w+|sitewide|(?:your|the) first \w+|the \w+))?/i,
  /\bsave \d{1,2}\s?%/i,
  /(?:[$€£¥]\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?(?:€|dollars|euros|pounds)) off\b/i,
  /\bfree (?:shipping|delivery|returns|gift|trial|sample)(?: on (?:all|every|your first) \w+(?: over [$€£]?\d+)?)?/i,
  /\bbuy one,? get one(?: free| half off)?\b|\bbogo\b/i,
  /\b\d for \d\b/i,
  /\bhalf price\b/i,
  /\b(?:summer|winter|spring|autumn|holiday|black friday|flash|clearance|end[- ]of[- ]season)\s+sale\b/i,
  /\b\d{1,2}\s?% (?:rabatt|günstiger)\b|\bgratis versand\b|\bkostenlose[rn]? versand\b/i,
  /-\s?\d{1,2}\s?%|\b\d{1,2}\s?% de (?:réduction|remise)\b|\blivraison (?:offerte|gratuite)\b|\bsoldes\b/i,
  /\b\d{1,2}\s?% de descuento\b|\benvío gratis\b|\brebajas\b/i,
  /限时\d+(?:\.\d)?折|全场\d+(?:\.\d)?折|\d+(?:\.\d)?折(?:起)?|满\d+减\d+|买一送一|第二件半价|半价|包邮|免运费|立减\d+元?/u,
  /限时(?:特惠|优惠|秒杀)|大促|特惠|秒杀/u,
  /\d+%オフ|\d+％オフ|送料無料|半額/u,
];

/** Time limits that belong to an offer ("this weekend", "today only"). */
export const OFFER_TAIL =
  /^\s*(this (?:weekend|week|month)\b|today only|today|until \w+(?: \d+)?|for a limited time|while stocks last|ends? \w+|on (?:all|every) \w+(?: \w+)?|sitewide|storewide)/i;

/** Sentence words for bodies, per language. */
export const PHRASES: Record<Lang, { looking: (p: string) => string; ready: (o: string) => string; by: (p: string, b: string) => string }> =
  {
    en: { looking: (p) => `Looking for ${p}?`, ready: (o) => `Ready for ${o}?`, by: (p, b) => `${p} by ${b}` },
    zh: { looking: (p) => `还在找${p}？`, ready: (o) => `${o}准备好了吗？`, by: (p, b) => `${b}${p}` },
    ja: { looking: (p) => `${p}をお探しですか？`, ready: (o) => `${o}の準備はできていますか？`, by: (p, b) => `${b}の${p}` },
    de: { looking: (p) => `Auf der Suche nach ${p}?`, ready: (o) => `Bereit für ${o}?`, by: (p, b) => `${p} von ${b}` },
    fr: { looking: (p) => `Envie de ${p} ?`, ready: (o) => `Prêt pour ${o} ?`, by: (p, b) => `${p} par ${b}` },
    es: { looking: (p) => `¿Buscas ${p}?`, ready: (o) => `¿Listo para ${o}?`, by: (p, b) => `${p} de ${b}` },
  };

const STOP: Record<'de' | 'fr' | 'es' | 'en', RegExp> = {
  en: /\b(the|and|for|with|your|our|on|of|to|a|an|is|this|that|you)\b/gi,
  de: /\b(der|die|das|und|für|mit|ein|eine|nicht|ist|ihre?|unsere?|zum|zur|im|auf|dem|den)\b/gi,
  fr: /\b(le|la|les|et|pour|avec|des|un|une|du|est|vos|votre|nos|notre|au|aux|sur|à)\b/gi,
  es: /\b(el|la|los|las|y|para|con|un|una|del|es|tus?|nuestr[oa]s?|por|en|al)\b/gi,
};

/** Words of advertising that tell the language apart on a short brief. */
const CUES: Record<'de' | 'fr' | 'es', RegExp> = {
  de: /\b(rabatt|versand|kostenlos\w*|jetzt|neu\w*|leicht\w*|angebot|gratis versand|\w+rucksack|\w+schuhe?)\b/gi,
  fr: /\b(livraison|offerte?|gratuite?|léger|légère|soldes|nouveau|nouvelle|sac)\b/gi,
  es: /\b(envío|gratis|ligera?|nuevo|nueva|descuento|rebajas|mochila|zapatillas)\b/gi,
};

/** The brief's language: CJK by script (kana → Japanese), Latin by common words. */
export function detectLanguage(text: string): Lang {
  if (/[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(text)) return 'ja';
  const han = (text.match(/\p{Script=Han}/gu) ?? []).length;
  const latin = (text.match(/\p{Script=Latin}/gu) ?? []).length;
  if (han > 0 && han * 2 >= latin / 3) return 'zh';
  let best: Lang = 'en';
  let score = (text.match(STOP.en) ?? []).length;
  for (const l of ['de', 'fr', 'es'] as const) {
    let n = (text.match(STOP[l]) ?? []).length;
    n += 2 * (text.match(CUES[l]) ?? []).length;
    if (l === 'de' && /[äöüß]/i.test(text)) n += 2;
    if (l === 'fr' && /[àâçéèêëîïôûù]/i.test(text)) n += 1;
    if (l === 'es' && /[ñ¿¡áíóú]/i.test(text)) n += 2;
    if (n > score) {
      best = l;
      score = n;
    }
  }
  return best;
}
