// The sandbox page: renders the fake workspace's state (fetched from the page server,
// with Block Kit already rendered to HTML there) and turns what a person does into calls
// to the page server, which sends Slack-shaped signed requests to the bot. Nothing here
// decides anything about votes or rounds.

const $ = (sel, root = document) => root.querySelector(sel);

const REACTIONS = [
  ['+1', '👍'],
  ['heart', '❤️'],
  ['fire', '🔥'],
  ['tada', '🎉'],
  ['eyes', '👀'],
  ['-1', '👎'],
];

const params = new URLSearchParams(location.search);
const ui = {
  me: params.get('as') || localStorage.getItem('adcreative-sandbox-user') || '',
  channel: params.get('channel') || '',
  thread: params.get('thread') || '',
  /** 'channel' or 'home' (the app's Home tab). */
  pane: 'channel',
  state: null,
  /** Ephemeral messages already seen, so a new one can be announced once. */
  seenEphemeral: null,
  seenFor: '',
  viewKey: '',
  /** This page load: a modal opened here is shown here only, as a Slack client shows its own. */
  session: crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`,
  pickerFor: null,
  fetching: null,
  again: false,
};

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function toast(text, kind = '') {
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.textContent = text;
  $('#toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

async function api(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: ui.me, channel: ui.channel, session: ui.session, ...body }),
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = { ok: false, error: `HTTP ${res.status}` };
  }
  if (!res.ok || data.ok === false) {
    toast(data.error || `request failed (HTTP ${res.status})`, 'error');
  }
  return data;
}

// --- state and live updates ---

async function refresh() {
  if (ui.fetching) {
    ui.again = true;
    return ui.fetching;
  }
  ui.fetching = (async () => {
    try {
      const q = new URLSearchParams({ user: ui.me, channel: ui.channel, session: ui.session });
      const res = await fetch(`/api/state?${q}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const state = await res.json();
      ui.state = state;
      ui.me = state.me;
      ui.channel = state.channel;
      render();
    } catch (e) {
      setConn(false, `state: ${e.message}`);
    } finally {
      ui.fetching = null;
      if (ui.again) {
        ui.again = false;
        refresh();
      }
    }
  })();
  return ui.fetching;
}

function setConn(live, why = '') {
  const el = $('#conn');
  el.className = `conn ${live ? 'live' : 'down'}`;
  el.textContent = live ? 'live' : 'reconnecting…';
  el.title = why;
}

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('open', () => {
    setConn(true);
    refresh();
  });
  es.addEventListener('change', () => refresh());
  es.addEventListener('error', () => setConn(false, 'live stream interrupted; the browser retries'));
}

// --- rendering ---

function userById(id) {
  return ui.state.users.find((u) => u.id === id);
}

function avatar(m) {
  const u = m.user ? userById(m.user) : undefined;
  const color = m.bot ? '#4a154b' : u?.color || '#888';
  const letter = m.bot ? '🤖' : esc((m.name || '?').slice(0, 1).toUpperCase());
  return `<div class="avatar" style="background:${esc(color)}">${letter}</div>`;
}

function fmtTime(ts) {
  const d = new Date(Number(ts) * 1000);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function messageHtml(m, inThread) {
  const files = (m.files || [])
    .map((f) =>
      /^image\//.test(f.mimetype || '')
        ? `<a href="${esc(f.url)}" target="_blank" rel="noopener"><img src="${esc(f.url)}" alt="${esc(f.title || f.name)}" title="${esc(f.title || f.name)}"></a>`
        : `<a class="file-chip" href="${esc(f.url)}" target="_blank" rel="noopener">📎 ${esc(f.title || f.name)}</a>`,
    )
    .join('');
  const reactions = (m.reactions || [])
    .map(
      (r) =>
        `<button type="button" class="reaction${r.mine ? ' mine' : ''}" data-reaction="${esc(r.name)}" aria-pressed="${r.mine}" title="${esc(r.names.join(', '))} reacted with :${esc(r.name)}:">${esc(r.emoji)} <span class="count">${r.count}</span></button>`,
    )
    .join('');
  const isParent = !inThread && m.replyCount > 0;
  const replies = isParent
    ? `<button type="button" class="replies-link" data-open-thread="${esc(m.ts)}">${m.replyCount} ${m.replyCount === 1 ? 'reply' : 'replies'}</button>`
    : '';
  const tools = m.ephemeral
    ? ''
    : `<div class="msg-tools"><button type="button" class="tool" data-tool="react" title="Add reaction" aria-label="Add reaction">☺︎+</button>${
        inThread
          ? ''
          : `<button type="button" class="tool" data-tool="thread" title="Reply in thread" aria-label="Reply in thread">💬</button>`
      }${(ui.state.shortcuts || [])
        .map(
          (s) =>
            `<button type="button" class="tool" data-tool="shortcut" data-callback-id="${esc(s.callbackId)}" title="${esc(s.name)}" aria-label="${esc(s.name)}">⚡</button>`,
        )
        .join('')}</div>`;
  const meta = `<div class="msg-meta"><span class="name">${esc(m.name)}</span>${m.bot ? '<span class="app-tag">APP</span>' : ''}<time datetime="${esc(m.ts)}">${fmtTime(m.ts)}</time>${m.edited ? '<span class="edited">(edited)</span>' : ''}${m.ephemeral ? '<span class="only-you">Only visible to you</span>' : ''}</div>`;
  return `<div class="msg${m.ephemeral ? ' ephemeral' : ''}" data-ts="${esc(m.ts)}" data-thread-ts="${esc(m.threadTs || '')}" data-channel="${esc(m.channel)}" data-user="${esc(m.user || '')}" data-bot="${m.bot ? '1' : ''}">${avatar(m)}<div class="msg-body">${meta}<div class="msg-content">${m.html}</div>${files ? `<div class="msg-files">${files}</div>` : ''}<div class="reactions">${reactions}</div>${replies}</div>${tools}</div>`;
}

/** Replaces a list's contents keeping the scroll pinned to the bottom when it was there. */
function fill(el, html) {
  if (el.dataset.html === html) return;
  const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  // Keep an open overflow/select menu's choice from being lost mid-interaction.
  const focused = document.activeElement;
  if (focused && el.contains(focused) && focused.tagName === 'SELECT') return;
  el.innerHTML = html;
  el.dataset.html = html;
  if (atBottom) el.scrollTop = el.scrollHeight;
}

function render() {
  const s = ui.state;
  localStorage.setItem('adcreative-sandbox-user', s.me);
  // Tests and scripts wait on this to know whose view is on screen.
  document.body.dataset.me = s.me;

  const sw = $('#user-switcher');
  const opts = s.users
    .map((u) => `<option value="${esc(u.id)}"${u.id === s.me ? ' selected' : ''}>${esc(u.name)}${u.admin ? ' (admin)' : ''}</option>`)
    .join('');
  if (sw.dataset.html !== opts) {
    sw.innerHTML = opts;
    sw.dataset.html = opts;
  }
  sw.value = s.me;

  $('#banners').innerHTML = s.banners
    .map((b) => `<div class="banner ${esc(b.level)}">${esc(b.text)}${b.command ? ` — <code>${esc(b.command)}</code>` : ''}</div>`)
    .join('');

  const ch = s.channels.find((c) => c.id === s.channel);
  $('#channel-name').textContent = ui.pane === 'home' ? 'adcreative · Home' : `# ${ch ? ch.name : s.channel}`;
  $('#channel-topic').textContent = ch?.topic || '';
  $('#composer-input').placeholder = `Message #${ch ? ch.name : ''} — try /adcreative summer sunscreen for runners`;
  $('#channel-list').innerHTML = s.channels
    .map(
      (c) =>
        `<li class="${c.id === s.channel && ui.pane === 'channel' ? 'active' : ''}"><button type="button" data-channel="${esc(c.id)}"># ${esc(c.name)}</button></li>`,
    )
    .join('');
  $('#people-list').innerHTML = s.users
    .map((u) => `<li class="${u.id === s.me ? 'me' : ''}">${esc(u.name)}${u.admin ? ' · admin' : ''}</li>`)
    .join('');

  const home = ui.pane === 'home';
  $('#home-entry').className = home ? 'active' : '';
  $('#messages').hidden = home;
  $('#composer').hidden = home;
  $('#home').hidden = !home;
  if (home) $('#home').innerHTML = s.home ? s.home.html : '<div class="empty">Opening the app’s Home…</div>';

  const top = s.messages.filter((m) => !m.threadTs || m.threadTs === m.ts);
  fill(
    $('#messages'),
    top.length
      ? top.map((m) => messageHtml(m, false)).join('')
      : '<div class="empty">No messages yet. Type <code>/adcreative</code> and a brief below to start a round.</div>',
  );

  const pane = $('#thread-pane');
  if (ui.thread) {
    const parent = s.messages.find((m) => m.ts === ui.thread);
    const replies = s.messages.filter((m) => m.threadTs === ui.thread && m.ts !== ui.thread);
    pane.hidden = !parent;
    if (parent) fill($('#thread-messages'), [parent, ...replies].map((m) => messageHtml(m, true)).join(''));
  } else {
    pane.hidden = true;
  }

  renderModal(s.view);
  announceEphemerals(s);
}

/** An answer only you can see may land in a thread you have not opened: say it once. */
function announceEphemerals(s) {
  const eph = s.messages.filter((m) => m.ephemeral);
  // After a switch of person, what they already had is not news.
  const first = ui.seenEphemeral === null || ui.seenFor !== s.me;
  ui.seenEphemeral ??= new Set();
  ui.seenFor = s.me;
  for (const m of eph) {
    const key = `${s.me}:${m.ts}`;
    if (ui.seenEphemeral.has(key)) continue;
    ui.seenEphemeral.add(key);
    const visible = !m.threadTs || m.threadTs === ui.thread;
    if (!first && !visible) toast(`Only visible to you: ${m.text}`);
  }
}

function renderModal(view) {
  const dlg = $('#modal');
  const key = view ? `${view.id}:${view.hash}` : '';
  if (key === ui.viewKey) return;
  ui.viewKey = key;
  if (!view) {
    if (dlg.open) dlg.close();
    return;
  }
  $('#modal-form').innerHTML = view.html;
  $('#modal-form').dataset.viewId = view.id;
  if (!dlg.open) dlg.showModal();
}

// --- what people do ---

function msgContext(el) {
  const msg = el.closest('.msg');
  if (!msg) return {};
  return { channel: msg.dataset.channel, ts: msg.dataset.ts, threadTs: msg.dataset.threadTs || undefined };
}

function inModal(el) {
  return el.closest('#modal-form') ? $('#modal-form').dataset.viewId : undefined;
}

async function sendAction(el, action) {
  if (el.dataset.confirm && !confirm(el.dataset.confirm)) return;
  const viewId = inModal(el);
  const where = viewId ? { viewId } : msgContext(el);
  el.disabled = true;
  try {
    await api('/api/action', { ...where, action: { action_id: el.dataset.actionId, block_id: el.dataset.blockId, ...action } });
  } finally {
    el.disabled = false;
  }
}

document.addEventListener('click', async (e) => {
  const t = e.target instanceof Element ? e.target : null;
  if (!t) return;
  const picker = $('#reaction-picker');
  if (!picker.hidden && !t.closest('#reaction-picker') && !t.closest('[data-tool="react"]')) picker.hidden = true;

  const button = t.closest('button[data-kind="button"], a[data-kind="button"]');
  if (button) {
    if (button.tagName === 'A') {
      // Link buttons open their URL and still notify the app, as in Slack.
      sendAction(button, { type: 'button', value: button.dataset.value, text: button.textContent });
      return;
    }
    e.preventDefault();
    await sendAction(button, { type: 'button', value: button.dataset.value, text: button.textContent });
    return;
  }
  const reaction = t.closest('button[data-reaction]');
  if (reaction) {
    const ctx = msgContext(reaction);
    const mine = reaction.classList.contains('mine');
    await api('/api/reaction', { ...ctx, name: reaction.dataset.reaction, add: !mine });
    return;
  }
  const tool = t.closest('button[data-tool]');
  if (tool) {
    const ctx = msgContext(tool);
    if (tool.dataset.tool === 'thread') openThread(ctx.ts);
    if (tool.dataset.tool === 'react') openPicker(tool, ctx);
    if (tool.dataset.tool === 'shortcut') await api('/api/shortcut', { ...ctx, callbackId: tool.dataset.callbackId });
    return;
  }
  const pick = t.closest('button[data-pick]');
  if (pick && ui.pickerFor) {
    picker.hidden = true;
    await api('/api/reaction', { ...ui.pickerFor, name: pick.dataset.pick, add: true });
    ui.pickerFor = null;
    return;
  }
  const open = t.closest('[data-open-thread]');
  if (open) {
    openThread(open.dataset.openThread);
    return;
  }
  if (t.closest('button[data-home]')) {
    ui.pane = 'home';
    render();
    await api('/api/home', {});
    return;
  }
  const chan = t.closest('button[data-channel]');
  if (chan) {
    ui.pane = 'channel';
    ui.channel = chan.dataset.channel;
    ui.thread = '';
    refresh();
    return;
  }
  const close = t.closest('[data-kind="view-close"]');
  if (close) {
    e.preventDefault();
    const viewId = $('#modal-form').dataset.viewId;
    ui.viewKey = '';
    $('#modal').close();
    await api('/api/view-close', { viewId });
  }
});

document.addEventListener('change', async (e) => {
  const t = e.target;
  if (!(t instanceof HTMLSelectElement)) return;
  if (t.id === 'user-switcher') {
    ui.me = t.value;
    ui.viewKey = '';
    const url = new URL(location.href);
    url.searchParams.set('as', ui.me);
    history.replaceState(null, '', url);
    refresh();
    return;
  }
  const kind = t.dataset.kind;
  if ((kind === 'overflow' || kind === 'static_select') && !t.closest('.bk-input-block')) {
    const opt = t.selectedOptions[0];
    if (!opt?.value) return;
    const selected = { text: { type: 'plain_text', text: opt.textContent }, value: opt.value };
    if (kind === 'overflow') t.value = '';
    t.blur();
    await sendAction(t, { type: kind, selected_option: selected });
  }
});

// A re-render skipped while a menu was open catches up once it closes.
document.addEventListener('focusout', (e) => {
  if (e.target instanceof HTMLSelectElement && e.target.closest('.messages')) setTimeout(refresh, 0);
});

function openThread(ts) {
  ui.thread = ts;
  render();
  const input = $('#thread-input');
  input.focus();
}

$('#thread-close').addEventListener('click', () => {
  ui.thread = '';
  render();
});

function openPicker(anchor, ctx) {
  const picker = $('#reaction-picker');
  picker.innerHTML = REACTIONS.map(
    ([name, emoji]) => `<button type="button" class="pick" data-pick="${name}" title=":${name}:" aria-label="${name}">${emoji}</button>`,
  ).join('');
  const r = anchor.getBoundingClientRect();
  picker.style.top = `${Math.max(8, r.top - 48)}px`;
  picker.style.left = `${Math.max(8, r.right - 260)}px`;
  picker.hidden = false;
  ui.pickerFor = ctx;
}

async function submitComposer(input, threadTs) {
  const text = input.value.trim();
  const picker = threadTs ? null : $('#composer-files');
  const chosen = picker ? [...picker.files] : [];
  if (!text && !chosen.length) return;
  input.value = '';
  const files = [];
  for (const f of chosen) files.push({ name: f.name, data: await readFileB64(f) });
  const res = await api('/api/message', { text, threadTs, ...(files.length ? { files } : {}) });
  if (res.ok === false) input.value = text;
  else if (picker) {
    picker.value = '';
    showAttached();
  }
}

function showAttached() {
  const box = $('#composer-attached');
  const names = [...$('#composer-files').files].map((f) => f.name);
  box.hidden = !names.length;
  box.textContent = names.length ? `Attached: ${names.join(', ')}` : '';
}
$('#composer-files').addEventListener('change', showAttached);

$('#composer').addEventListener('submit', (e) => {
  e.preventDefault();
  submitComposer($('#composer-input'));
});
$('#thread-composer').addEventListener('submit', (e) => {
  e.preventDefault();
  submitComposer($('#thread-input'), ui.thread);
});
for (const id of ['#composer-input', '#thread-input']) {
  $(id).addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      e.target.form.requestSubmit();
    }
  });
}

// --- modals ---

function readFileB64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',')[1] || '');
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

/** Collects the modal's inputs into Slack's view.state.values shape. */
async function collectValues(form) {
  const values = {};
  const put = (blockId, actionId, v) => {
    values[blockId] ??= {};
    values[blockId][actionId] = v;
  };
  const optionOf = (o) => ({ text: { type: 'plain_text', text: o.textContent.trim() }, value: o.value });
  for (const el of form.querySelectorAll('.bk-input-block [data-kind]')) {
    const { blockId, actionId, kind } = el.dataset;
    if (kind === 'plain_text_input' || kind === 'url_text_input' || kind === 'email_text_input' || kind === 'number_input') {
      put(blockId, actionId, { type: kind, value: el.value === '' ? null : el.value });
    } else if (kind === 'static_select') {
      const o = el.selectedOptions[0];
      put(blockId, actionId, { type: kind, selected_option: o?.value ? optionOf(o) : null });
    } else if (kind === 'multi_static_select') {
      put(blockId, actionId, { type: kind, selected_options: [...el.selectedOptions].map(optionOf) });
    } else if (kind === 'checkboxes') {
      const sel = [...el.querySelectorAll('input:checked')].map((i) => ({
        text: { type: 'plain_text', text: i.parentElement.textContent.trim() },
        value: i.value,
      }));
      put(blockId, actionId, { type: kind, selected_options: sel });
    } else if (kind === 'radio_buttons') {
      const i = el.querySelector('input:checked');
      put(blockId, actionId, {
        type: kind,
        selected_option: i ? { text: { type: 'plain_text', text: i.parentElement.textContent.trim() }, value: i.value } : null,
      });
    } else if (kind === 'datepicker') {
      put(blockId, actionId, { type: kind, selected_date: el.value || null });
    } else if (kind === 'file_input') {
      const files = [];
      for (const f of el.files || [])
        files.push({ name: f.name, mimetype: f.type || 'application/octet-stream', data: await readFileB64(f) });
      put(blockId, actionId, { type: kind, upload: files });
    }
  }
  return values;
}

$('#modal-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  for (const err of form.querySelectorAll('.bk-error')) err.hidden = true;
  const viewId = form.dataset.viewId;
  const submit = form.querySelector('[data-kind="view-submit"]');
  if (submit) submit.disabled = true;
  try {
    const values = await collectValues(form);
    const res = await api('/api/view-submit', { viewId, values });
    if (res.errors) {
      for (const [blockId, msg] of Object.entries(res.errors)) {
        const box = form.querySelector(`.bk-input-block[data-block-id="${CSS.escape(blockId)}"] .bk-error`);
        if (box) {
          box.textContent = msg;
          box.hidden = false;
        } else toast(`${blockId}: ${msg}`, 'error');
      }
    }
  } finally {
    if (submit) submit.disabled = false;
  }
});

$('#modal').addEventListener('cancel', async (e) => {
  e.preventDefault();
  const viewId = $('#modal-form').dataset.viewId;
  ui.viewKey = '';
  $('#modal').close();
  await api('/api/view-close', { viewId });
});

connect();
refresh();
