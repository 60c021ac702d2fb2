// chats.js is the conversations' data: how they are kept in localStorage,
// and their Markdown and JSON exports and JSON import. A conversation is
// { id, title, created, updated, messages }; a message is { role, content }
// plus, for answers, reasoning, model, state (streaming, done, stopped or
// error), error, finish, thinkMs and stats.

export const STORE = { chats: 'sputnik.chats.v1', settings: 'sputnik.settings.v1', key: 'sputnik.apiKey' };

// readStore returns what localStorage holds (empty values when nothing is
// saved or it cannot be read).
export function readStore() {
  const out = { convs: [], settings: {}, apiKey: '' };
  try {
    out.convs = JSON.parse(localStorage.getItem(STORE.chats) || '[]').filter(validConv).map(cleanConv);
    out.settings = JSON.parse(localStorage.getItem(STORE.settings) || '{}');
    out.apiKey = localStorage.getItem(STORE.key) || '';
  } catch (e) {
    console.warn('sputnik: could not read saved chats', e);
  }
  out.convs.sort((a, b) => b.updated - a.updated);
  return out;
}

// writeStore saves conversations and settings; it throws when the browser
// refuses (quota, private mode).
export function writeStore(convs, settings) {
  localStorage.setItem(STORE.chats, JSON.stringify(convs));
  localStorage.setItem(STORE.settings, JSON.stringify(settings));
}

export function validConv(c) {
  return !!c && typeof c === 'object' && Array.isArray(c.messages) &&
    c.messages.every((m) => m && ['user', 'assistant', 'system'].includes(m.role) && typeof m.content === 'string');
}

const str = (v) => (typeof v === 'string' ? v : undefined);
const num = (v) => (Number.isFinite(v) ? v : undefined);

// cleanConv keeps only the fields the page knows, with their types, so that
// a hand-edited or imported file cannot break rendering.
function cleanConv(c) {
  return {
    id: str(c.id) || newID(),
    title: str(c.title) || 'Imported chat',
    created: num(c.created) ?? Date.now(),
    updated: num(c.updated) ?? Date.now(),
    messages: c.messages.map((m) => {
      const out = { role: m.role, content: m.content };
      if (m.role !== 'assistant') return out;
      out.reasoning = str(m.reasoning) ?? '';
      out.model = str(m.model);
      out.state = ['done', 'stopped', 'error', 'streaming'].includes(m.state) ? m.state : 'done';
      out.error = str(m.error);
      out.finish = str(m.finish);
      out.thinkMs = num(m.thinkMs);
      if (m.stats && typeof m.stats === 'object') {
        const s = m.stats;
        out.stats = {
          tokens: num(s.tokens), estimated: s.estimated === true, promptTokens: num(s.promptTokens),
          reasoningTokens: num(s.reasoningTokens), cachedTokens: num(s.cachedTokens), ttftMs: num(s.ttftMs), tps: num(s.tps),
        };
      }
      return out;
    }),
  };
}

export const newID = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

export function titleFrom(text) {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 48 ? t.slice(0, 46) + '…' : t || 'New chat';
}

export function seconds(ms) {
  const s = ms / 1000;
  return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
}

export const fileName = (c, ext) => (c.title.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '').slice(0, 60) || 'chat') + ext;

export function toMarkdown(c) {
  let out = `# ${c.title}\n\n`;
  for (const m of c.messages) {
    if (m.role === 'user') {
      out += `## You\n\n${m.content}\n\n`;
      continue;
    }
    out += `## ${m.model || 'Assistant'}\n\n`;
    if (m.reasoning) out += `<details><summary>Thinking${m.thinkMs != null ? ' (' + seconds(m.thinkMs) + ')' : ''}</summary>\n\n${m.reasoning}\n\n</details>\n\n`;
    out += `${m.content}\n\n`;
  }
  return out;
}

export const toJSON = (c) => JSON.stringify({ format: 'sputnik-chat', version: 1, conversations: [c] }, null, 2);

// fromJSON reads an export (ours: { conversations: [...] }, or an array of
// conversations, or one) into new conversations with fresh ids; a stream
// that was cut off when exported counts as stopped.
export function fromJSON(text) {
  const j = JSON.parse(text);
  const list = Array.isArray(j) ? j : j.conversations ?? [j];
  const convs = list.filter(validConv).map(cleanConv);
  for (const c of convs) {
    c.id = newID();
    for (const m of c.messages) if (m.state === 'streaming') m.state = 'stopped';
  }
  if (!convs.length) throw new Error('no conversations in the file');
  return convs;
}
