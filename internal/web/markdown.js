// markdown.js turns model output into safe, rendered HTML: marked parses the
// markdown (raw HTML in it is shown as text, never as markup), DOMPurify
// sanitises the result, and only then are trusted renderers applied to the
// sanitised DOM: highlight.js to code blocks and KaTeX to math, both of which
// read text content and build their own markup. Nothing the model writes can
// add a script, an event handler, a style or a form.

import { Marked } from './vendor/marked-18.3.0/marked.esm.js';
import DOMPurify from './vendor/dompurify-3.5.0/purify.es.mjs';
import hljs from './vendor/highlight.js-11.12.0/core.min.js';
import bash from './vendor/highlight.js-11.12.0/languages/bash.min.js';
import c from './vendor/highlight.js-11.12.0/languages/c.min.js';
import cpp from './vendor/highlight.js-11.12.0/languages/cpp.min.js';
import css from './vendor/highlight.js-11.12.0/languages/css.min.js';
import diff from './vendor/highlight.js-11.12.0/languages/diff.min.js';
import go from './vendor/highlight.js-11.12.0/languages/go.min.js';
import java from './vendor/highlight.js-11.12.0/languages/java.min.js';
import javascript from './vendor/highlight.js-11.12.0/languages/javascript.min.js';
import json from './vendor/highlight.js-11.12.0/languages/json.min.js';
import markdown from './vendor/highlight.js-11.12.0/languages/markdown.min.js';
import plaintext from './vendor/highlight.js-11.12.0/languages/plaintext.min.js';
import python from './vendor/highlight.js-11.12.0/languages/python.min.js';
import rust from './vendor/highlight.js-11.12.0/languages/rust.min.js';
import shell from './vendor/highlight.js-11.12.0/languages/shell.min.js';
import sql from './vendor/highlight.js-11.12.0/languages/sql.min.js';
import typescript from './vendor/highlight.js-11.12.0/languages/typescript.min.js';
import xml from './vendor/highlight.js-11.12.0/languages/xml.min.js';
import yaml from './vendor/highlight.js-11.12.0/languages/yaml.min.js';

const languages = { bash, c, cpp, css, diff, go, java, javascript, json, markdown, plaintext, python, rust, shell, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(languages)) hljs.registerLanguage(name, lang);
hljs.configure({ ignoreUnescapedHTML: true });

const escapeHTML = (s) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

// Math as R1 writes it: $$…$$ and \[…\] as display blocks, \(…\) and $…$
// inline. The tokenizers only mark the TeX source (escaped) in a span or div;
// KaTeX renders it after sanitising.
const mathBlock = {
  name: 'mathBlock',
  level: 'block',
  start: (src) => src.match(/^ {0,3}(\$\$|\\\[)/m)?.index,
  tokenizer(src) {
    const m = /^ {0,3}\$\$([\s\S]+?)\$\$[^\S\n]*(?:\n|$)/.exec(src) || /^ {0,3}\\\[([\s\S]+?)\\\][^\S\n]*(?:\n|$)/.exec(src);
    if (m) return { type: 'mathBlock', raw: m[0], text: m[1].trim() };
  },
  renderer: (tok) => `<div class="math-display">${escapeHTML(tok.text)}</div>\n`,
};
const mathInline = {
  name: 'mathInline',
  level: 'inline',
  start: (src) => src.match(/\$|\\\(|\\\[/)?.index,
  tokenizer(src) {
    let m = /^\$\$([^$]+?)\$\$/.exec(src) || /^\\\[([\s\S]+?)\\\]/.exec(src);
    if (m) return { type: 'mathInline', raw: m[0], text: m[1].trim(), display: true };
    m = /^\\\(([\s\S]+?)\\\)/.exec(src) || /^\$(?=\S)((?:\\.|[^$\\\n])+?)(?<=\S)\$(?!\d)/.exec(src);
    if (m) return { type: 'mathInline', raw: m[0], text: m[1], display: false };
  },
  renderer: (tok) => tok.display
    ? `<span class="math-display">${escapeHTML(tok.text)}</span>`
    : `<span class="math-inline">${escapeHTML(tok.text)}</span>`,
};

const marked = new Marked({
  gfm: true,
  breaks: false,
  extensions: [mathBlock, mathInline],
  renderer: {
    // Raw HTML in the model's markdown is shown as the text it is.
    html: (tok) => escapeHTML(tok.text),
  },
});

const purifyConfig = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'object', 'embed'],
  FORBID_ATTR: ['style', 'id', 'name'],
};
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

// sanitize returns a DOMPurify-cleaned DocumentFragment of an HTML string.
export function sanitize(html) {
  return DOMPurify.sanitize(html, { ...purifyConfig, RETURN_DOM_FRAGMENT: true });
}

// render replaces el's children with the rendered markdown text. While an
// answer streams, streaming is true: code blocks are highlighted only when
// their language is named (detection on partial code is wasted work).
export function render(el, text, { streaming = false } = {}) {
  let html;
  try {
    html = marked.parse(text);
  } catch {
    html = `<p>${escapeHTML(text)}</p>`;
  }
  el.replaceChildren(sanitize(html));
  for (const code of el.querySelectorAll('pre > code')) decorateCode(code, streaming);
  renderMath(el);
}

// renderStream is render for text that grows at its end, called many times
// a second while an answer streams. Parsing the whole answer each time would
// cost O(n²) over a long answer, so the text is cut at blank lines outside
// code fences and display math: finished parts are rendered once and kept,
// and only the part after the last cut is rendered again. (A list or quote
// with blank lines inside may look split until the final render, which
// parses the whole text.)
const streams = new WeakMap();
export function renderStream(el, text) {
  let st = streams.get(el);
  if (!st || !text.startsWith(st.text.slice(0, st.done))) {
    el.replaceChildren();
    st = { text: '', done: 0, tail: null };
    streams.set(el, st);
  }
  let cut = st.done;
  let i = text.lastIndexOf('\n\n');
  for (let tries = 0; i > st.done && tries < 4; tries++) {
    if (balanced(text.slice(st.done, i))) {
      cut = i + 2;
      break;
    }
    i = text.lastIndexOf('\n\n', i - 1);
  }
  if (!st.tail) {
    st.tail = document.createElement('div');
    st.tail.className = 'md-seg';
    el.append(st.tail);
  }
  if (cut > st.done) {
    const seg = document.createElement('div');
    seg.className = 'md-seg';
    render(seg, text.slice(st.done, cut), { streaming: true });
    el.insertBefore(seg, st.tail);
    st.done = cut;
  }
  render(st.tail, text.slice(st.done), { streaming: true });
  st.text = text;
}

// balanced reports whether markdown text closes every code fence and $$
// block it opens.
function balanced(text) {
  const fences = text.match(/^ {0,3}(```|~~~)/gm)?.length ?? 0;
  const dollars = text.match(/\$\$/g)?.length ?? 0;
  return fences % 2 === 0 && dollars % 2 === 0;
}

function decorateCode(code, streaming) {
  const pre = code.parentElement;
  const lang = /language-([\w+#.-]+)/.exec(code.className)?.[1]?.toLowerCase() ?? '';
  const known = lang && hljs.getLanguage(lang);
  if (known) {
    hljs.highlightElement(code);
  } else if (!streaming && code.textContent.length < 20000) {
    const r = hljs.highlightAuto(code.textContent);
    if (r.relevance >= 5) {
      code.innerHTML = r.value; // highlight.js escapes the text it wraps
      code.classList.add('hljs');
    }
  }
  const wrap = document.createElement('div');
  wrap.className = 'code-block';
  const head = document.createElement('div');
  head.className = 'code-head';
  const label = document.createElement('span');
  label.textContent = lang || 'code';
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy-code';
  copy.textContent = 'Copy';
  head.append(label, copy);
  pre.replaceWith(wrap);
  wrap.append(head, pre);
}

function renderMath(el) {
  const katex = globalThis.katex;
  if (!katex) return;
  for (const m of el.querySelectorAll('.math-inline, .math-display')) {
    const tex = m.textContent;
    try {
      katex.render(tex, m, { displayMode: m.classList.contains('math-display'), throwOnError: true, trust: false, strict: 'ignore', output: 'htmlAndMathml' });
    } catch (e) {
      // KaTeX's own error rendering sets a style attribute, which the CSP
      // forbids; show the source instead.
      m.textContent = tex;
      m.classList.add('math-error');
      m.title = e.message;
    }
  }
}

// copyText puts text on the clipboard, falling back to a hidden textarea
// where the Clipboard API is unavailable (plain http on another host).
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'offscreen';
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}
