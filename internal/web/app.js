// app.js is the chat page: conversations kept in localStorage, answers
// streamed from /v1/chat/completions (server-sent events read with fetch),
// the model's thinking (delta.reasoning_content) shown apart from its answer.
// It talks to nothing but this server's OpenAI-style API. Model output is
// only ever put into the page through markdown.js (sanitised) or as text.

import { render, renderStream, copyText } from './markdown.js';
import { STORE, readStore, writeStore, newID, titleFrom, seconds, fileName, toMarkdown, toJSON, fromJSON } from './chats.js';

const $ = (sel) => document.querySelector(sel);

const S = {
  convs: [], // newest first
  current: null, // id of the conversation shown, or null for a new one
  settings: { system: '', temperature: null, maxTokens: null, theme: '', model: '' },
  models: [],
  apiKey: '',
  busy: null, // the running generation: { conv, msg, ctrl, view }
};

// ---- storage ----

function load() {
  const st = readStore();
  S.convs = st.convs;
  Object.assign(S.settings, st.settings);
  S.apiKey = st.apiKey;
  if (!S.convs.some((c) => c.id === S.current)) S.current = S.convs[0]?.id ?? null;
}

function save() {
  try {
    writeStore(S.convs, S.settings);
  } catch (e) {
    toast('Could not save: ' + e.message);
  }
}

// saveSoon saves at most once a second while an answer streams, so that a
// reload keeps most of it.
let saveTimer = 0;
function saveSoon() {
  if (!saveTimer) saveTimer = setTimeout(() => { saveTimer = 0; save(); }, 1000);
}

const currentConv = () => S.convs.find((c) => c.id === S.current) ?? null;

// ---- API ----

// api fetches path with the API key; on 401 it asks for a key and retries.
async function api(path, opts = {}) {
  for (let refused = false; ; refused = true) {
    const headers = { ...opts.headers };
    if (S.apiKey) headers.Authorization = 'Bearer ' + S.apiKey;
    const res = await fetch(path, { ...opts, headers });
    if (res.status !== 401) return res;
    const key = await askKey(refused || !!S.apiKey);
    if (!key) return res;
  }
}

async function errorText(res) {
  try {
    const j = await res.json();
    return j.error?.message || res.statusText;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

async function loadModels() {
  try {
    const res = await api('/v1/models');
    if (!res.ok) throw new Error(await errorText(res));
    S.models = (await res.json()).data.map((m) => m.id);
  } catch (e) {
    $('#model-name').textContent = 'offline';
    $('#empty-model').textContent = 'Could not reach the model: ' + e.message;
    return;
  }
  if (!S.models.includes(S.settings.model)) S.settings.model = S.models[0] ?? '';
  const sel = $('#model');
  sel.replaceChildren(...S.models.map((id) => new Option(id, id, false, id === S.settings.model)));
  $('#model-pick').hidden = S.models.length < 2;
  $('#model-name').hidden = S.models.length >= 2;
  $('#model-name').textContent = S.settings.model;
  $('#empty-model').textContent = S.settings.model ? `Model: ${S.settings.model}` : '';
}

// ---- generation ----

function history(conv) {
  const msgs = [];
  if (S.settings.system.trim()) msgs.push({ role: 'system', content: S.settings.system });
  for (const m of conv.messages) {
    if (m.role === 'user' || (m.role === 'assistant' && m.content && !m.error)) msgs.push({ role: m.role, content: m.content });
  }
  return msgs;
}

async function send(text) {
  if (S.busy || !text.trim()) return;
  let conv = currentConv();
  if (!conv) {
    conv = { id: newID(), title: titleFrom(text), created: Date.now(), updated: Date.now(), messages: [] };
    S.convs.unshift(conv);
    S.current = conv.id;
  }
  conv.messages.push({ role: 'user', content: text });
  await generate(conv);
}

async function generate(conv) {
  const msg = { role: 'assistant', content: '', reasoning: '', model: S.settings.model, state: 'streaming' };
  const body = { model: S.settings.model, messages: history(conv), stream: true, stream_options: { include_usage: true } };
  if (S.settings.temperature != null) body.temperature = S.settings.temperature;
  if (S.settings.maxTokens) body.max_tokens = S.settings.maxTokens;
  conv.messages.push(msg);
  conv.updated = Date.now();
  S.convs.sort((a, b) => b.updated - a.updated);
  const ctrl = new AbortController();
  S.busy = { conv, msg, ctrl, view: null };
  document.body.dataset.busy = '1';
  renderList();
  renderConversation();
  save();

  const t = { start: performance.now(), first: 0, last: 0, thinkStart: 0, thinkEnd: 0 };
  let chunks = 0;
  const tick = setInterval(() => updateThinkLabel(msg, t), 250);
  try {
    const res = await api('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: ctrl.signal,
    });
    if (!res.ok) throw new Error(await errorText(res));
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') continue;
        const ev = JSON.parse(data);
        if (ev.error) throw new Error(ev.error.message || 'the server reported an error');
        if (ev.usage) msg.usage = ev.usage;
        const ch = ev.choices?.[0];
        if (!ch) continue;
        const d = ch.delta || {};
        const now = performance.now();
        if (d.reasoning_content) {
          if (!t.thinkStart) t.thinkStart = now;
          msg.reasoning += d.reasoning_content;
        }
        if (d.content) {
          if (msg.reasoning && !t.thinkEnd) t.thinkEnd = now;
          msg.content += d.content;
        }
        if (d.reasoning_content || d.content) {
          chunks++;
          if (!t.first) t.first = now;
          t.last = now;
        }
        if (ch.finish_reason) msg.finish = ch.finish_reason;
        scheduleRender();
        saveSoon();
      }
    }
    msg.state = 'done';
  } catch (e) {
    if (e.name === 'AbortError') {
      msg.state = 'stopped';
    } else {
      msg.state = 'error';
      msg.error = e.message;
    }
  } finally {
    clearInterval(tick);
  }
  const end = t.last || performance.now();
  if (t.thinkStart) msg.thinkMs = (t.thinkEnd || end) - t.thinkStart;
  const n = msg.usage?.completion_tokens ?? chunks;
  msg.stats = {
    tokens: n,
    estimated: !msg.usage,
    promptTokens: msg.usage?.prompt_tokens,
    reasoningTokens: msg.usage?.completion_tokens_details?.reasoning_tokens,
    cachedTokens: msg.usage?.prompt_tokens_details?.cached_tokens,
    ttftMs: t.first ? t.first - t.start : undefined,
    tps: n > 1 && end > t.first ? ((n - 1) * 1000) / (end - t.first) : undefined,
  };
  S.busy = null;
  delete document.body.dataset.busy;
  conv.updated = Date.now();
  save();
  if (S.current === conv.id) renderConversation();
}

function stop() {
  S.busy?.ctrl.abort();
}

// ---- rendering ----

let renderQueued = false;
let lastRender = 0;
let renderGap = 60; // ms between renders of a streaming answer
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  const wait = Math.max(0, renderGap - (performance.now() - lastRender));
  setTimeout(() => requestAnimationFrame(() => {
    renderQueued = false;
    lastRender = performance.now();
    renderStreaming();
    // Slow renders (a long code block on a phone) get rarer, not queued up.
    renderGap = Math.max(60, 3 * (performance.now() - lastRender));
  }), wait);
}

function renderStreaming() {
  const b = S.busy;
  if (!b?.view) return;
  const stick = nearBottom();
  const { msg, view } = b;
  if (msg.reasoning) {
    view.think.hidden = false;
    renderStream(view.thinkBody, msg.reasoning);
  }
  if (msg.content) {
    if (!view.answerStarted) {
      view.answerStarted = true;
      if (!view.userToggled) view.think.open = false; // as DeepSeek's app: thinking folds when the answer starts
    }
    renderStream(view.answer, msg.content);
  }
  if (stick) scrollToBottom();
}

function updateThinkLabel(msg, t) {
  const view = S.busy?.msg === msg ? S.busy.view : null;
  if (!view || !t.thinkStart) return;
  const label = view.think.querySelector('.think-label');
  if (t.thinkEnd) label.textContent = 'Thought for ' + seconds(t.thinkEnd - t.thinkStart);
  else label.textContent = 'Thinking… ' + Math.floor((performance.now() - t.thinkStart) / 1000) + ' s';
}

const nearBottom = () => { const sc = $('#scroller'); return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80; };
const scrollToBottom = () => { const sc = $('#scroller'); sc.scrollTop = sc.scrollHeight; };

function icon(paths) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  for (const d of paths) {
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}
const ICONS = {
  copy: ['M9 9h10v10H9z', 'M5 15V5h10'],
  edit: ['M4 20h4L19 9l-4-4L4 16z', 'M13.5 6.5l4 4'],
  regen: ['M20 11a8 8 0 1 0-2.3 5.7', 'M20 4v7h-7'],
  rename: ['M4 20h4L19 9l-4-4L4 16z'],
  trash: ['M5 7h14', 'M10 11v6M14 11v6', 'M6 7l1 13h10l1-13', 'M9 7V4h6v3'],
  chevron: ['M9 6l6 6-6 6'],
  think: ['M9 18h6M10 21h4', 'M12 3a6 6 0 0 0-4 10.5c.7.7 1 1.5 1 2.5h6c0-1 .3-1.8 1-2.5A6 6 0 0 0 12 3z'],
};

function button(cls, title, iconName, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.title = title;
  b.setAttribute('aria-label', title);
  b.append(icon(ICONS[iconName]));
  b.addEventListener('click', onClick);
  return b;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function renderConversation() {
  const conv = currentConv();
  const box = $('#messages');
  box.replaceChildren();
  $('#chat-title').textContent = conv?.title ?? 'New chat';
  $('#empty').hidden = !!conv?.messages.length;
  document.title = conv ? `${conv.title} · Sputnik` : 'Sputnik';
  if (!conv) return;
  conv.messages.forEach((m, i) => {
    if (m.role === 'user') box.append(userEl(conv, m, i));
    else if (m.role === 'assistant') box.append(assistantEl(conv, m, i));
  });
  if (S.busy?.conv === conv) renderStreaming();
  scrollToBottom();
}

function userEl(conv, m, i) {
  const row = el('div', 'msg user');
  const bubble = el('div', 'bubble', m.content);
  const actions = el('div', 'msg-actions');
  actions.append(
    button('icon-btn small', 'Copy', 'copy', () => copyText(m.content).then((ok) => toast(ok ? 'Copied' : 'Copy failed'))),
    button('icon-btn small edit', 'Edit and resend', 'edit', () => editUser(row, conv, m, i)),
  );
  row.append(bubble, actions);
  return row;
}

function editUser(row, conv, m, i) {
  if (S.busy) return;
  const box = el('div', 'edit-box');
  const ta = el('textarea');
  ta.value = m.content;
  ta.rows = Math.min(12, m.content.split('\n').length + 1);
  const bar = el('div', 'edit-actions');
  const cancel = el('button', 'plain', 'Cancel');
  const ok = el('button', 'primary', 'Send');
  cancel.type = ok.type = 'button';
  bar.append(cancel, ok);
  box.append(ta, bar);
  row.replaceChildren(box);
  row.classList.add('editing');
  ta.focus();
  cancel.addEventListener('click', renderConversation);
  const submit = () => {
    const text = ta.value;
    if (!text.trim()) return;
    conv.messages = conv.messages.slice(0, i);
    conv.messages.push({ role: 'user', content: text });
    if (i === 0) conv.title = titleFrom(text);
    generate(conv);
  };
  ok.addEventListener('click', submit);
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    if (e.key === 'Escape') renderConversation();
  });
}

function assistantEl(conv, m, i) {
  const streaming = S.busy?.msg === m;
  const row = el('div', 'msg assistant');
  row.dataset.state = m.state || 'done';
  const avatar = el('div', 'avatar');
  const img = el('img');
  img.src = 'icon.svg';
  img.alt = '';
  avatar.append(img);
  const body = el('div', 'body');

  const think = el('details', 'think');
  const summary = el('summary');
  summary.append(icon(ICONS.think), el('span', 'think-label', thinkLabel(m, streaming)), icon(ICONS.chevron));
  const thinkBody = el('div', 'think-body md');
  think.append(summary, thinkBody);
  think.hidden = !m.reasoning && !streaming;
  think.open = streaming ? !m.content : !m.content && !!m.reasoning;
  if (!streaming && m.reasoning) render(thinkBody, m.reasoning);

  const answer = el('div', 'answer md');
  if (!streaming && m.content) render(answer, m.content);
  body.append(think, answer);

  const note = noteFor(m);
  if (note) body.append(el('p', 'note ' + (m.state === 'error' ? 'error-text' : ''), note));
  if (streaming) body.append(el('div', 'typing'));

  if (!streaming) {
    const foot = el('div', 'msg-foot');
    foot.append(el('span', 'stats', statsText(m)));
    if (m.stats?.ttftMs != null) foot.lastChild.title = `first token after ${seconds(m.stats.ttftMs)}` + (m.model ? ` · ${m.model}` : '');
    const actions = el('div', 'msg-actions');
    if (m.content) actions.append(button('icon-btn small', 'Copy answer', 'copy', () => copyText(m.content).then((ok) => toast(ok ? 'Copied' : 'Copy failed'))));
    if (i === conv.messages.length - 1) actions.append(button('icon-btn small regen', 'Regenerate', 'regen', () => regenerate(conv)));
    foot.append(actions);
    body.append(foot);
  }
  row.append(avatar, body);
  if (streaming) {
    const view = { think, thinkBody, answer, answerStarted: !!m.content, userToggled: false };
    summary.addEventListener('click', () => { view.userToggled = true; });
    S.busy.view = view;
  }
  return row;
}

function thinkLabel(m, streaming) {
  if (streaming && !m.content) return 'Thinking…';
  if (m.thinkMs != null) return 'Thought for ' + seconds(m.thinkMs);
  return 'Thinking';
}

function noteFor(m) {
  if (m.state === 'error') return 'Error: ' + m.error;
  if (m.state === 'stopped') return 'Stopped.';
  if (m.state === 'streaming' && S.busy?.msg !== m) return 'Interrupted (the page was closed while the answer streamed).';
  if (m.finish === 'length') return m.content ? 'Cut off at the token limit.' : 'The token limit was reached while the model was still thinking.';
  return '';
}

function statsText(m) {
  const s = m.stats;
  if (!s || !s.tokens) return '';
  const parts = [`${s.estimated ? '~' : ''}${s.tokens} tokens`];
  if (s.reasoningTokens) parts[0] += ` (${s.reasoningTokens} thinking)`;
  if (s.tps) parts.push(`${s.tps >= 100 ? Math.round(s.tps) : s.tps.toFixed(1)} tok/s`);
  if (s.promptTokens != null) parts.push(`prompt ${s.promptTokens}` + (s.cachedTokens ? ` (${s.cachedTokens} cached)` : ''));
  return parts.join(' · ');
}

function regenerate(conv) {
  if (S.busy) return;
  if (conv.messages.at(-1)?.role === 'assistant') conv.messages.pop();
  generate(conv);
}

// ---- conversation list ----

function renderList() {
  const nav = $('#conversations');
  nav.replaceChildren();
  const day = 86400000;
  const today = new Date().setHours(0, 0, 0, 0);
  const groups = [['Today', (t) => t >= today], ['Previous 7 days', (t) => t >= today - 7 * day], ['Older', () => true]];
  const seen = new Set();
  for (const [name, within] of groups) {
    const items = S.convs.filter((c) => !seen.has(c) && within(c.updated));
    if (!items.length) continue;
    nav.append(el('h3', 'group', name));
    for (const c of items) {
      seen.add(c);
      nav.append(listItem(c));
    }
  }
}

function listItem(c) {
  const item = el('div', 'conv' + (c.id === S.current ? ' active' : ''));
  item.dataset.id = c.id;
  const open = el('button', 'conv-open', c.title);
  open.type = 'button';
  open.title = c.title;
  open.addEventListener('click', () => select(c.id));
  const rename = button('icon-btn small', 'Rename', 'rename', () => {
    const input = el('input', 'conv-rename');
    input.value = c.title;
    open.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      if (keep && input.value.trim()) c.title = input.value.trim();
      save();
      renderList();
      if (c.id === S.current) $('#chat-title').textContent = c.title;
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true);
      if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
  });
  const del = button('icon-btn small', 'Delete', 'trash', () => {
    if (!confirm(`Delete “${c.title}”?`)) return;
    if (S.busy?.conv === c) stop();
    S.convs = S.convs.filter((x) => x !== c);
    if (S.current === c.id) S.current = null;
    save();
    renderList();
    renderConversation();
  });
  item.append(open, rename, del);
  return item;
}

function select(id) {
  S.current = id;
  renderList();
  renderConversation();
  closeSidebar();
}

function newChat() {
  S.current = null;
  renderList();
  renderConversation();
  closeSidebar();
  $('#input').focus();
}

// ---- export and import ----

function download(name, type, text) {
  const a = el('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function exportMarkdown() {
  const c = currentConv();
  if (!c) return toast('Nothing to export yet');
  download(fileName(c, '.md'), 'text/markdown', toMarkdown(c));
}

function exportJSON() {
  const c = currentConv();
  if (!c) return toast('Nothing to export yet');
  download(fileName(c, '.json'), 'application/json', toJSON(c));
}

async function importFile(file) {
  try {
    const convs = fromJSON(await file.text());
    S.convs.push(...convs);
    S.convs.sort((a, b) => b.updated - a.updated);
    S.current = convs[0].id;
    save();
    renderList();
    renderConversation();
    toast(`Imported ${convs.length} conversation${convs.length > 1 ? 's' : ''}`);
  } catch (e) {
    toast('Import failed: ' + e.message);
  }
}

// ---- settings, key, theme ----

function openSettings() {
  const s = S.settings;
  $('#set-system').value = s.system;
  $('#set-temp-default').checked = s.temperature == null;
  $('#set-temp').value = s.temperature ?? 0.6;
  $('#set-temp').disabled = s.temperature == null;
  $('#temp-out').textContent = s.temperature == null ? '(model default)' : s.temperature;
  $('#set-max').value = s.maxTokens ?? '';
  $('#set-theme').value = s.theme;
  $('#key-state').textContent = S.apiKey ? 'An API key is saved in this browser.' : 'No API key saved.';
  $('#forget-key').hidden = !S.apiKey;
  $('#settings').showModal();
}

function readSettings() {
  const s = S.settings;
  s.system = $('#set-system').value;
  s.temperature = $('#set-temp-default').checked ? null : Number($('#set-temp').value);
  const max = parseInt($('#set-max').value, 10);
  s.maxTokens = max > 0 ? max : null;
  s.theme = $('#set-theme').value;
  applyTheme();
  save();
}

let keyResolve = null;
function askKey(refused) {
  $('#key-error').hidden = !refused;
  $('#key-input').value = '';
  $('#key-dialog').showModal();
  return new Promise((resolve) => { keyResolve = resolve; });
}

function answerKey(key) {
  $('#key-dialog').close();
  if (key) {
    S.apiKey = key;
    localStorage.setItem(STORE.key, key);
  }
  keyResolve?.(key);
  keyResolve = null;
}

function applyTheme() {
  if (S.settings.theme) document.documentElement.dataset.theme = S.settings.theme;
  else delete document.documentElement.dataset.theme;
}

function toggleTheme() {
  const dark = S.settings.theme ? S.settings.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  S.settings.theme = dark ? 'light' : 'dark';
  applyTheme();
  save();
}

let toastTimer = 0;
function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 2200);
}

function openSidebar() { document.body.classList.add('sidebar-open'); $('#scrim').hidden = false; }
function closeSidebar() { document.body.classList.remove('sidebar-open'); $('#scrim').hidden = true; }

// ---- wiring ----

function autosize(ta) {
  ta.style.height = 'auto';
  ta.style.height = Math.min(ta.scrollHeight, 240) + 'px';
}

function init() {
  load();
  applyTheme();
  renderList();
  renderConversation();

  const input = $('#input');
  $('#composer').addEventListener('submit', (e) => {
    e.preventDefault();
    if (S.busy) return stop();
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    autosize(input);
    send(text);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!S.busy) $('#composer').requestSubmit();
    }
  });
  input.addEventListener('input', () => autosize(input));

  $('#messages').addEventListener('click', (e) => {
    const b = e.target.closest('.copy-code');
    if (!b) return;
    copyText(b.closest('.code-block').querySelector('pre').textContent).then((ok) => {
      b.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(() => { b.textContent = 'Copy'; }, 1500);
    });
  });

  $('#new-chat').addEventListener('click', newChat);
  $('#new-chat-top').addEventListener('click', newChat);
  $('#open-sidebar').addEventListener('click', openSidebar);
  $('#close-sidebar').addEventListener('click', closeSidebar);
  $('#scrim').addEventListener('click', closeSidebar);
  $('#export-md').addEventListener('click', exportMarkdown);
  $('#export-json').addEventListener('click', exportJSON);
  $('#import').addEventListener('click', () => $('#import-file').click());
  $('#import-file').addEventListener('change', (e) => {
    const f = e.target.files[0];
    e.target.value = '';
    if (f) importFile(f);
  });
  $('#theme').addEventListener('click', toggleTheme);
  $('#model').addEventListener('change', (e) => {
    S.settings.model = e.target.value;
    save();
  });

  $('#open-settings').addEventListener('click', openSettings);
  $('#settings').addEventListener('close', readSettings);
  $('#settings form').addEventListener('submit', (e) => { e.preventDefault(); $('#settings').close(); });
  $('#set-temp').addEventListener('input', (e) => { $('#temp-out').textContent = e.target.value; });
  $('#set-temp-default').addEventListener('change', (e) => {
    $('#set-temp').disabled = e.target.checked;
    $('#temp-out').textContent = e.target.checked ? '(model default)' : $('#set-temp').value;
  });
  $('#forget-key').addEventListener('click', () => {
    S.apiKey = '';
    localStorage.removeItem(STORE.key);
    $('#key-state').textContent = 'No API key saved.';
    $('#forget-key').hidden = true;
  });

  $('#key-form').addEventListener('submit', (e) => { e.preventDefault(); answerKey($('#key-input').value.trim()); });
  $('#key-cancel').addEventListener('click', () => answerKey(''));
  $('#key-dialog').addEventListener('cancel', () => answerKey(''));

  addEventListener('storage', (e) => {
    if (e.key === STORE.chats && !S.busy) {
      load();
      renderList();
      renderConversation();
    }
  });
  addEventListener('beforeunload', () => { if (S.busy) save(); }); // keep what streamed so far

  loadModels();
  input.focus();
}

init();
