import { describe, expect, it } from 'vitest';
import { escapeHtml, renderBlock, renderBlocks, renderModal, renderMrkdwn, renderText } from '../../../src/sandbox/blockkit.ts';

const ctx = {
  fileUrl: (ref: { id?: string; url?: string }) => (ref.id ? `/files/${ref.id}` : undefined),
  userName: (id: string) => ({ U1: 'Ana', U2: 'Ben' })[id],
  channelName: (id: string) => (id === 'C1' ? 'marketing' : undefined),
};

describe('mrkdwn', () => {
  it('renders bold, italic, strike and code', () => {
    expect(renderMrkdwn('*bold* and _it_ and ~gone~ and `x*y*z`')).toBe('<b>bold</b> and <i>it</i> and <s>gone</s> and <code>x*y*z</code>');
  });

  it('leaves markers inside words alone', () => {
    expect(renderMrkdwn('2*3*4 snake_case_name')).toBe('2*3*4 snake_case_name');
  });

  it('renders links, mentions, channels and broadcasts', () => {
    const html = renderMrkdwn('see <https://example.com/a?b=1&amp;c=2|the docs>, <@U1>, <#C1>, <!here>', ctx);
    expect(html).toContain('<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a>');
    expect(html).toContain('@Ana');
    expect(html).toContain('#marketing');
    expect(html).toContain('@here');
  });

  it('shows Slack dates as UTC times', () => {
    expect(renderMrkdwn('closes <!date^1700000000^{date_short_pretty} at {time}|2023-11-14T22:13:20Z>')).toBe(
      'closes 2023-11-14 22:13 UTC',
    );
    expect(renderMrkdwn('<!date^nope^{date}|fallback>')).toBe('fallback');
  });

  it('shows an unknown user by id and a bare link by its url', () => {
    expect(renderMrkdwn('<@U9>', ctx)).toContain('@U9');
    expect(renderMrkdwn('<https://x.test/>')).toContain('>https://x.test/</a>');
  });

  it('refuses javascript: links but keeps their text', () => {
    const html = renderMrkdwn('<javascript:alert(1)|click>');
    expect(html).not.toContain('href');
    expect(html).toBe('click');
  });

  it('escapes HTML the bot did not mean as markup', () => {
    const html = renderMrkdwn('<img src=x onerror=alert(1)> & "q" &lt;b&gt;');
    expect(html).not.toMatch(/<img/);
    expect(html).toContain('&lt;b&gt;');
    expect(html).toContain('&amp;');
    expect(html).toContain('&quot;q&quot;');
  });

  it('turns common shortcodes into emoji and keeps unknown ones', () => {
    expect(renderMrkdwn(':thumbsup: :+1: :trophy: :not_an_emoji:')).toBe('👍 👍 🏆 :not_an_emoji:');
  });

  it('renders quotes, newlines and preformatted blocks', () => {
    const html = renderMrkdwn('> quoted\nline two\n```a *b*\n<c>```');
    expect(html).toContain('<span class="bk-quote">quoted</span><br>line two');
    expect(html).toContain('<pre class="bk-pre">a *b*\n&lt;c&gt;</pre>');
  });

  it('plain_text is escaped and emojified unless emoji is false', () => {
    expect(renderText({ type: 'plain_text', text: '<b> :fire:' })).toBe('&lt;b&gt; 🔥');
    expect(renderText({ type: 'plain_text', text: ':fire:', emoji: false })).toBe(':fire:');
  });
});

describe('blocks the bot emits', () => {
  const variantMessage = [
    { type: 'header', text: { type: 'plain_text', text: 'Variant A :sparkles:' } },
    {
      type: 'image',
      block_id: 'img',
      slack_file: { id: 'F123' },
      alt_text: 'A sunny beach ad',
      title: { type: 'plain_text', text: 'square' },
    },
    {
      type: 'section',
      block_id: 'copy',
      text: { type: 'mrkdwn', text: '*Sun-ready skin*\nSPF 50 that feels like nothing.' },
      fields: [
        { type: 'mrkdwn', text: '*Relevance*\n0.31' },
        { type: 'mrkdwn', text: '*Novelty*\n0.12' },
      ],
      accessory: {
        type: 'overflow',
        action_id: 'variant_menu',
        options: [
          { text: { type: 'plain_text', text: 'Download all formats' }, value: 'download:v1' },
          { text: { type: 'plain_text', text: 'Edit copy' }, value: 'edit:v1' },
          { text: { type: 'plain_text', text: 'More like this' }, value: 'more:v1' },
        ],
      },
    },
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: 'CTA: _Shop now_' },
        { type: 'image', image_url: 'https://x.test/t.png', alt_text: 'thumb' },
      ],
    },
    { type: 'divider' },
    {
      type: 'actions',
      block_id: 'vote',
      elements: [
        { type: 'button', action_id: 'vote', value: 'v1', style: 'primary', text: { type: 'plain_text', text: 'Vote' } },
        {
          type: 'button',
          action_id: 'close_round',
          value: 'r1',
          style: 'danger',
          text: { type: 'plain_text', text: 'Close round' },
          confirm: { title: { type: 'plain_text', text: 'Close?' }, text: { type: 'plain_text', text: 'Voting ends.' } },
        },
        {
          type: 'static_select',
          action_id: 'pick',
          placeholder: { type: 'plain_text', text: 'Pick one' },
          options: [{ text: { type: 'plain_text', text: 'One' }, value: '1' }],
        },
      ],
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: 'Inspiration' },
      accessory: { type: 'image', image_url: 'https://x.test/i.png', alt_text: 'past ad' },
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: 'Link' },
      accessory: { type: 'button', action_id: 'open', url: 'https://x.test/', text: { type: 'plain_text', text: 'Open' } },
    },
  ];

  it('renders every element without a placeholder', () => {
    const html = renderBlocks(variantMessage, ctx);
    expect(html).not.toContain('bk-unknown');
    expect(html).toContain('<div class="bk-block bk-header">Variant A ✨</div>');
    expect(html).toContain('src="/files/F123"');
    expect(html).toContain('alt="A sunny beach ad"');
    expect(html).toContain('<b>Sun-ready skin</b><br>SPF 50');
    expect(html).toContain('<div class="bk-field"><b>Relevance</b><br>0.31</div>');
    expect(html).toContain('<i>Shop now</i>');
    expect(html).toContain('<hr class="bk-block bk-divider">');
    expect(html).toContain('src="https://x.test/i.png"');
    expect(html).toContain('href="https://x.test/"');
  });

  it('gives interactive elements what the page needs to send a block action', () => {
    const html = renderBlocks(variantMessage, ctx);
    expect(html).toMatch(
      /<button type="button" class="bk-button bk-primary" data-kind="button" data-action-id="vote" data-block-id="vote" data-value="v1">Vote<\/button>/,
    );
    expect(html).toMatch(/data-kind="overflow" aria-label="More actions" data-action-id="variant_menu" data-block-id="copy"/);
    expect(html).toContain('<option value="edit:v1">Edit copy</option>');
    expect(html).toContain('data-confirm="Close?\n\nVoting ends."');
    expect(html).toMatch(/data-kind="static_select" data-action-id="pick"/);
  });

  it('shows a missing file as such, not as a broken image', () => {
    const html = renderBlock({ type: 'image', slack_file: { url: 'nope' }, alt_text: 'x' }, { fileUrl: () => undefined });
    expect(html).toContain('src="nope"');
    const none = renderBlock({ type: 'image', alt_text: 'x' });
    expect(none).toContain('image not found');
  });

  it('renders user messages sent as rich_text', () => {
    const html = renderBlock(
      {
        type: 'rich_text',
        elements: [
          {
            type: 'rich_text_section',
            elements: [
              { type: 'user', user_id: 'U1' },
              { type: 'text', text: ' warmer <colours>', style: { bold: true } },
              { type: 'emoji', name: 'fire' },
            ],
          },
        ],
      },
      ctx,
    );
    expect(html).toContain('@Ana');
    expect(html).toContain('<b> warmer &lt;colours&gt;</b>');
    expect(html).toContain('🔥');
  });
});

describe('unknown and broken input', () => {
  it('renders an unknown block as a visible placeholder', () => {
    const html = renderBlocks([
      { type: 'video', title: 'x' },
      { type: 'header', text: { type: 'plain_text', text: 'still here' } },
    ]);
    expect(html).toContain('<div class="bk-unknown" data-unknown="video">Unsupported block: <code>video</code></div>');
    expect(html).toContain('still here');
  });

  it('renders an unknown element inside actions and sections as a placeholder', () => {
    const html = renderBlocks([
      {
        type: 'actions',
        elements: [{ type: 'workflow_button' }, { type: 'button', action_id: 'ok', text: { type: 'plain_text', text: 'OK' } }],
      },
      { type: 'section', text: { type: 'mrkdwn', text: 'x' }, accessory: { type: 'timepicker' } },
      { type: 'context', elements: [{ type: 'weird' }] },
    ]);
    expect(html).toContain('Unsupported element: <code>workflow_button</code>');
    expect(html).toContain('Unsupported element: <code>timepicker</code>');
    expect(html).toContain('Unsupported context element: <code>weird</code>');
    expect(html).toContain('>OK</button>');
  });

  it('never throws on junk', () => {
    for (const junk of [
      null,
      3,
      'x',
      [],
      {},
      { type: 'section', fields: 'nope' },
      { type: 'actions', elements: null },
      { type: 'input' },
    ]) {
      expect(() => renderBlock(junk)).not.toThrow();
    }
    expect(renderBlocks('not an array')).toBe('');
    expect(renderBlock(null)).toContain('bk-unknown');
  });

  it('escapes an unknown type name', () => {
    expect(renderBlock({ type: '<script>' })).toContain('&lt;script&gt;');
    expect(escapeHtml('<"\'&>')).toBe('&lt;&quot;&#39;&amp;&gt;');
  });
});

describe('modals', () => {
  const modal = {
    type: 'modal',
    callback_id: 'brief_modal',
    title: { type: 'plain_text', text: 'New brief' },
    submit: { type: 'plain_text', text: 'Generate' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'product',
        label: { type: 'plain_text', text: 'Product' },
        element: { type: 'plain_text_input', action_id: 'v', multiline: true, initial_value: 'Sunscreen <50>' },
      },
      {
        type: 'input',
        block_id: 'channel',
        label: { type: 'plain_text', text: 'Channel' },
        element: {
          type: 'static_select',
          action_id: 'v',
          initial_option: { text: { type: 'plain_text', text: 'Meta' }, value: 'meta' },
          options: [
            { text: { type: 'plain_text', text: 'Meta' }, value: 'meta' },
            { text: { type: 'plain_text', text: 'Google' }, value: 'google' },
          ],
        },
      },
      {
        type: 'input',
        block_id: 'formats',
        label: { type: 'plain_text', text: 'Formats' },
        element: {
          type: 'multi_static_select',
          action_id: 'v',
          options: [
            { text: { type: 'plain_text', text: 'Square' }, value: 'square' },
            { text: { type: 'plain_text', text: 'Story' }, value: 'story' },
          ],
          initial_options: [{ text: { type: 'plain_text', text: 'Square' }, value: 'square' }],
        },
      },
      {
        type: 'input',
        block_id: 'opts',
        optional: true,
        label: { type: 'plain_text', text: 'Options' },
        element: {
          type: 'checkboxes',
          action_id: 'v',
          options: [
            { text: { type: 'plain_text', text: 'Anonymous' }, value: 'anonymous' },
            { text: { type: 'plain_text', text: 'Hide tally' }, value: 'hide' },
          ],
        },
      },
      {
        type: 'input',
        block_id: 'count',
        label: { type: 'plain_text', text: 'Variants' },
        element: { type: 'number_input', action_id: 'v', is_decimal_allowed: false, min_value: '1', max_value: '8' },
      },
      {
        type: 'input',
        block_id: 'ref',
        optional: true,
        label: { type: 'plain_text', text: 'Reference image' },
        element: { type: 'file_input', action_id: 'v', filetypes: ['png', 'jpg'], max_files: 1 },
      },
    ],
  };

  it('renders title, inputs with their initial values, and buttons', () => {
    const html = renderModal(modal, ctx);
    expect(html).not.toContain('bk-unknown');
    expect(html).toContain('<div class="bk-modal-title">New brief</div>');
    expect(html).toMatch(
      /<textarea class="bk-input" rows="4" data-action-id="v" data-block-id="product" data-kind="plain_text_input">Sunscreen &lt;50&gt;<\/textarea>/,
    );
    expect(html).toContain('<option value="meta" selected>Meta</option>');
    expect(html).toMatch(/<select class="bk-select" multiple data-action-id="v" data-block-id="formats" data-kind="multi_static_select">/);
    expect(html).toContain('<option value="square" selected>Square</option>');
    expect(html).toContain('type="checkbox" name="opts:v" value="anonymous"');
    expect(html).toContain('(optional)');
    expect(html).toMatch(/type="number" data-action-id="v" data-block-id="count" data-kind="number_input" min="1" max="8" step="1"/);
    expect(html).toMatch(/type="file" data-action-id="v" data-block-id="ref" data-kind="file_input" accept=".png,.jpg"/);
    expect(html).toContain('data-kind="view-submit">Generate</button>');
    expect(html).toContain('data-kind="view-close">Cancel</button>');
  });

  it('renders a modal without submit (information only) and rejects non-modals visibly', () => {
    const html = renderModal({ type: 'modal', title: { type: 'plain_text', text: 'Info' }, blocks: [] });
    expect(html).not.toContain('view-submit');
    expect(renderModal({ type: 'home', blocks: [] })).toContain('Unsupported view');
  });
});
