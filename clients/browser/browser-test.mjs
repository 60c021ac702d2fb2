// browser-test.mjs drives the chat page of a running `sputnik serve` in
// headless Chromium (Debian's package, through playwright-core) the way a
// person would: API key prompt, send, streamed thinking and answer, stop,
// regenerate, edit and resend, reload, XSS probes, phone-sized screen, and a
// screenshot. scripts/browser-test.sh starts the server and runs it.
//
// Environment: SPUTNIK_URL (required), SPUTNIK_API_KEY (the server's key),
// SCREENSHOT (where to save the PNG; default none), CHROMIUM (default
// /usr/bin/chromium).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.env.SPUTNIK_URL;
const apiKey = process.env.SPUTNIK_API_KEY || '';
const shotPath = process.env.SCREENSHOT || '';
const here = path.dirname(fileURLToPath(import.meta.url));
if (!url) {
  console.error('browser-test: SPUTNIK_URL is not set');
  process.exit(2);
}

const WAIT = 20_000; // bound on any one wait for the page
const GEN = 90_000; // bound on one generation on a busy 2-core machine

let failures = 0;
let current = '';
async function step(name, fn) {
  current = name;
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok    ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures++;
    console.log(`FAIL  ${name}: ${e.message.split('\n')[0]}`);
    throw e;
  }
}
function check(cond, what) {
  if (!cond) throw new Error(what);
}

const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sputnik-chromium-'));
const browser = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1200, height: 800 },
  colorScheme: 'light',
  timeout: WAIT,
});
browser.setDefaultTimeout(WAIT);

const page = browser.pages()[0] ?? (await browser.newPage());
const dialogs = [];
const pageErrors = [];
const consoleErrors = [];
let expectDialog = false; // only the delete step's confirm() is expected
page.on('dialog', (d) => {
  if (expectDialog && d.type() === 'confirm') return d.accept().catch(() => {});
  dialogs.push(`${d.type()}: ${d.message()}`);
  d.dismiss().catch(() => {});
});
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
await page.addInitScript(() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
    `${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber} on ${e.target?.outerHTML?.slice(0, 120) ?? e.target}`));
});

const lastAssistant = '.msg.assistant:last-child';
const idle = () => page.waitForFunction(() => !document.body.dataset.busy, null, { timeout: GEN });
async function setMaxTokens(n) {
  await page.click('#open-settings');
  await page.fill('#set-max', String(n));
  await page.click('#settings button.primary');
  await page.waitForSelector('#settings', { state: 'hidden' });
}
async function sendMessage(text) {
  const n = (await page.$$('.msg.assistant')).length;
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  await page.waitForFunction((n) => document.querySelectorAll('.msg.assistant').length > n, n);
}
const streamedLength = () => page.evaluate(() => {
  const m = document.querySelector('.msg.assistant:last-child');
  return m ? (m.querySelector('.think-body')?.textContent.length ?? 0) + (m.querySelector('.answer')?.textContent.length ?? 0) : 0;
});

try {
  await step('page loads with its security headers', async () => {
    const res = await page.goto(url + '/', { waitUntil: 'load' });
    check(res.status() === 200, `GET / answered ${res.status()}`);
    const h = res.headers();
    check(/script-src 'self'/.test(h['content-security-policy'] ?? '') && !/unsafe/.test(h['content-security-policy']),
      `Content-Security-Policy is ${JSON.stringify(h['content-security-policy'])}`);
    check(h['x-content-type-options'] === 'nosniff', 'no X-Content-Type-Options: nosniff');
  });

  if (apiKey) {
    await step('asks for the API key after a 401 and keeps it', async () => {
      await page.waitForSelector('#key-dialog[open]');
      await page.fill('#key-input', 'wrong-key');
      await page.press('#key-input', 'Enter');
      await page.waitForSelector('#key-error:not([hidden])'); // refused: asked again
      await page.fill('#key-input', apiKey);
      await page.press('#key-input', 'Enter');
      await page.waitForSelector('#key-dialog', { state: 'hidden' });
      const saved = await page.evaluate(() => localStorage.getItem('sputnik.apiKey'));
      check(saved === apiKey, 'the key is not in localStorage');
    });
  }

  // The page's requests go to the server as they are, plus a seed and
  // ignore_eos: the random test model then answers the same way every run
  // and never ends early (the stop test needs a long answer).
  await page.route('**/v1/chat/completions', (route) => {
    const body = JSON.parse(route.request().postData());
    route.continue({ postData: JSON.stringify({ ...body, seed: 7, ignore_eos: true }) });
  });

  let modelID = '';
  await step('lists the model from /v1/models', async () => {
    await page.waitForFunction(() => document.querySelector('#model-name').textContent.length > 0);
    modelID = await page.textContent('#model-name');
    check(modelID && modelID !== 'offline', `model name shows ${JSON.stringify(modelID)}`);
  });

  await step('sends with Enter and streams thinking and answer', async () => {
    await setMaxTokens(64);
    await page.fill('#input', 'Hello');
    await page.press('#input', 'Shift+Enter'); // a new line, not a send
    check((await page.inputValue('#input')) === 'Hello\n', 'Shift+Enter did not add a line');
    await page.fill('#input', 'Hello');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.user .bubble');
    await page.waitForFunction(() => {
      const m = document.querySelector('.msg.assistant:last-child');
      return m && (m.querySelector('.think-body').textContent.length > 0 || m.querySelector('.answer').textContent.length > 0);
    }, null, { timeout: GEN });
    await idle();
    const state = await page.getAttribute(lastAssistant, 'data-state');
    check(state === 'done', `the answer ended in state ${state}`);
    const think = await page.textContent(`${lastAssistant} .think-body`);
    check(think.trim().length > 0, 'no thinking text (deepseek2-tiny has the R1 template, so it should think)');
    const label = await page.textContent(`${lastAssistant} .think-label`);
    check(/^Thought for [\d.]+ s$/.test(label), `thinking label is ${JSON.stringify(label)}`);
    const stats = await page.textContent(`${lastAssistant} .stats`);
    check(/^\d+ tokens/.test(stats) && /tok\/s/.test(stats) && /prompt \d+/.test(stats), `stats read ${JSON.stringify(stats)}`);
    check((await page.textContent('#chat-title')) === 'Hello', 'the conversation is not titled by its first message');
  });

  await step('the thinking block expands and collapses', async () => {
    const details = `${lastAssistant} details.think`;
    const open0 = await page.$eval(details, (d) => d.open);
    await page.click(`${details} > summary`);
    check((await page.$eval(details, (d) => d.open)) === !open0, 'a click on the summary did not toggle it');
    check(await page.isVisible(`${details} .think-body`) === !open0, 'the thinking text visibility did not follow');
    await page.click(`${details} > summary`);
    check((await page.$eval(details, (d) => d.open)) === open0, 'a second click did not toggle it back');
  });

  await step('stops a long generation midway', async () => {
    await setMaxTokens(6000);
    await sendMessage('Tell me a very long story.');
    await page.waitForFunction(() => {
      const m = document.querySelector('.msg.assistant:last-child');
      return m && m.querySelector('.think-body').textContent.length + m.querySelector('.answer').textContent.length > 200;
    }, null, { timeout: GEN });
    check(await page.evaluate(() => !!document.body.dataset.busy), 'the answer finished before it could be stopped');
    await page.click('#send'); // the send button is the stop button while streaming
    await idle();
    const state = await page.getAttribute(lastAssistant, 'data-state');
    check(state === 'stopped', `state after stop is ${state}`);
    check((await page.textContent(`${lastAssistant} .note`)) === 'Stopped.', 'no "Stopped." note');
    const n = await streamedLength();
    await page.waitForTimeout(800);
    check((await streamedLength()) === n, 'text kept growing after stop');
    const stats = await page.textContent(`${lastAssistant} .stats`);
    const tokens = Number(/~(\d+) tokens/.exec(stats)?.[1]);
    check(tokens > 0 && tokens < 6000, `stats after stop read ${JSON.stringify(stats)}`);
    // The server saw the disconnect and cancelled the request.
    const running = await page.evaluate(async () => {
      for (let i = 0; i < 50; i++) {
        const m = /^sputnik_num_requests_running (\d+)/m.exec(await (await fetch('/metrics')).text());
        if (m && m[1] === '0') return 0;
        await new Promise((r) => setTimeout(r, 100));
      }
      return -1;
    });
    check(running === 0, 'the server still runs the stopped request');
  });

  await step('regenerates the last answer', async () => {
    await setMaxTokens(48);
    await page.click(`${lastAssistant} .regen`);
    await idle();
    check((await page.$$('.msg.assistant')).length === 2, 'regenerate added an answer instead of replacing it');
    check((await page.getAttribute(lastAssistant, 'data-state')) === 'done', 'the regenerated answer did not finish');
  });

  await step('edits a message and resends from there', async () => {
    await page.hover('.msg.user >> nth=0');
    await page.click('.msg.user >> nth=0 >> .edit');
    await page.fill('.edit-box textarea', 'Hi again');
    await page.press('.edit-box textarea', 'Enter');
    await idle();
    const users = await page.$$eval('.msg.user .bubble', (b) => b.map((x) => x.textContent));
    check(users.length === 1 && users[0] === 'Hi again', `user messages after edit: ${JSON.stringify(users)}`);
    check((await page.$$('.msg.assistant')).length === 1, 'the later turns were not dropped');
  });

  await step('a reload keeps the conversation', async () => {
    const before = await page.$$eval('.msg', (m) => m.length);
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('.msg.user .bubble');
    check((await page.$$('#conversations .conv')).length === 1, 'the conversation list changed');
    check((await page.textContent('.msg.user .bubble')) === 'Hi again', 'the edited message is gone');
    check((await page.$$eval('.msg', (m) => m.length)) === before, 'messages were lost');
    check((await page.textContent(`${lastAssistant} .think-body`)).length > 0, 'the thinking was not kept');
  });

  await step('model output never executes (crafted stream)', async () => {
    const probe = [
      'Here is an image: <img src=x onerror="window.__xss=1;alert(1)">\n\n',
      '<scr', 'ipt>window.__xss=2;alert(2)</script>\n\n',
      '[click me](javascript:window.__xss=3) and ![pic](x" onerror="window.__xss=4)\n\n',
      '<svg onload="window.__xss=5"></svg> <iframe src="javascript:parent.__xss=6"></iframe>\n\n',
      '<a href="javascript:window.__xss=7">raw link</a> <div style="position:fixed;inset:0">cover</div>\n\n',
      'Math: $e^{i\\pi} + 1 = 0$ and $$\\href{javascript:alert(8)}{x}$$\n\n',
      '```python\nprint("hi")\n```\n',
    ];
    const chunks = [
      { reasoning_content: 'The user wants a probe. ' }, { reasoning_content: '<img src=x onerror="window.__xss=9">' },
      ...probe.map((c) => ({ content: c })),
    ];
    const body = chunks.map((d) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: d, finish_reason: null }] })}\n\n`).join('') +
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` +
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 5, completion_tokens: chunks.length, total_tokens: 5 + chunks.length } })}\n\n` +
      'data: [DONE]\n\n';
    await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body }));
    await page.click('#new-chat');
    await sendMessage('probe');
    await idle();
    await page.unroute('**/v1/chat/completions');
    await page.waitForTimeout(500);
    const found = await page.evaluate(() => ({
      xss: window.__xss,
      // (KaTeX sizes its boxes through element.style, inside .katex only.)
      active: [...document.querySelectorAll('.msg [onerror], .msg [onload], .msg script, .msg iframe, .msg [style]:not(.katex [style]), .msg a[href^="javascript"]')].map((e) => e.outerHTML.slice(0, 80)),
      katex: document.querySelectorAll('.msg.assistant:last-child .answer .katex').length,
      code: document.querySelectorAll('.msg.assistant:last-child .answer .code-block .hljs').length,
      text: document.querySelector('.msg.assistant:last-child .answer').textContent,
      open: document.querySelector('.msg.assistant:last-child details.think').open,
      label: document.querySelector('.msg.assistant:last-child .think-label').textContent,
    }));
    check(found.xss === undefined, `window.__xss = ${found.xss}`);
    check(dialogs.length === 0, `dialogs opened: ${dialogs.join('; ')}`);
    check(found.active.length === 0, `active elements or attributes in the page: ${found.active.join(' | ')}`);
    check(found.text.includes('<img src=x onerror='), 'raw HTML is not shown as text');
    check(found.katex >= 1, 'math was not rendered by KaTeX');
    check(found.code === 1, 'the code block was not highlighted');
    check(!found.open && /^Thought for/.test(found.label), `thinking not folded when the answer started (open=${found.open}, ${found.label})`);
  });

  await step('model output never executes (imported conversation)', async () => {
    const evil = '<img src=x onerror="window.__xss=13;alert(13)"> [x](javascript:alert(14))';
    const file = JSON.stringify({ format: 'sputnik-chat', version: 1, conversations: [{ id: 'x', title: 'Imported <img src=x onerror=alert(15)>', messages: [{ role: 'user', content: evil }, { role: 'assistant', reasoning: evil, content: evil, model: evil, thinkMs: evil, stats: { tokens: evil, tps: evil } }] }] });
    await page.setInputFiles('#import-file', { name: 'evil.json', mimeType: 'application/json', buffer: Buffer.from(file) });
    await page.waitForFunction(() => document.querySelector('#chat-title').textContent.startsWith('Imported'));
    await page.click('.msg.assistant details.think > summary');
    await page.waitForTimeout(500);
    const xss = await page.evaluate(() => window.__xss);
    check(xss === undefined, `window.__xss = ${xss}`);
    check(dialogs.length === 0, `dialogs opened: ${dialogs.join('; ')}`);
    const active = await page.evaluate(() => document.querySelectorAll('#app [onerror], #app script, #app a[href^="javascript"]').length);
    check(active === 0, `${active} active elements in the page`);
  });

  await step('no script errors and no CSP violations', async () => {
    const csp = await page.evaluate(() => window.__csp);
    check(csp.length === 0, `CSP violations: ${csp.join('; ')}`);
    check(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
    const real = consoleErrors.filter((e) => !/Failed to load resource/.test(e)); // the probes' <img src=x> 404s
    check(real.length === 0, `console errors: ${real.join('; ')}`);
  });

  await step('DOMPurify strips raw HTML attacks', async () => {
    // The sanitiser on its own, given raw HTML as if markdown had passed it
    // through. (Its DOMParser may report a CSP violation for the handler it
    // parses in an inert document: nothing runs there.)
    const html = await page.evaluate(async () => {
      const { sanitize } = await import('/markdown.js');
      const box = document.createElement('div');
      box.append(sanitize('<img src=x onerror="window.__xss=10"><a href="javascript:window.__xss=11">x</a><script>window.__xss=12</script><form action="//evil"><input></form><p style="color:red" onclick="window.__xss=13">p</p>'));
      document.body.append(box);
      box.querySelector('a')?.click();
      box.querySelector('p')?.click();
      return box.innerHTML;
    });
    await page.waitForTimeout(300);
    const xss = await page.evaluate(() => window.__xss);
    check(xss === undefined, `window.__xss = ${xss}`);
    check(!/onerror|onclick|javascript:|<script|<form|<input|style=/.test(html), `sanitised HTML kept an attack: ${html}`);
    check(dialogs.length === 0, `dialogs opened: ${dialogs.join('; ')}`);
  });

  await step('fits a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const hidden = await page.waitForFunction(() => document.querySelector('#sidebar').getBoundingClientRect().right <= 0, null, { timeout: 3000 }).then(() => true, () => false);
    check(hidden, 'the conversation list covers the chat on a phone');
    const composer = await page.$eval('#composer', (c) => c.getBoundingClientRect());
    check(composer.bottom <= 844 && composer.width <= 390, 'the composer does not fit');
    check(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'the page scrolls sideways');
    await page.click('#open-sidebar');
    await page.waitForFunction(() => document.querySelector('#sidebar').getBoundingClientRect().left >= 0);
    await page.click('#scrim', { position: { x: 370, y: 400 } });
    await page.waitForFunction(() => document.querySelector('#sidebar').getBoundingClientRect().right <= 0);
    await page.setViewportSize({ width: 1200, height: 800 });
  });

  await step('theme toggle switches light and dark', async () => {
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await bg();
    await page.click('#theme');
    const dark = await bg();
    check(light !== dark && (await page.getAttribute('html', 'data-theme')) === 'dark', `background stayed ${light}`);
    await page.click('#theme');
    check((await bg()) === light, 'toggling back did not restore the light theme');
  });

  await step('model picker, settings and the request the page sends', async () => {
    await page.route('**/v1/models', (route) => route.fulfill({ status: 200, contentType: 'application/json',
      body: JSON.stringify({ object: 'list', data: [{ id: modelID, object: 'model' }, { id: 'other-model', object: 'model' }] }) }));
    let sent = null;
    await page.route('**/v1/chat/completions', (route) => {
      sent = { body: JSON.parse(route.request().postData()), auth: route.request().headers().authorization };
      route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' },
        body: `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n` });
    });
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#model-pick:not([hidden])');
    check((await page.$$eval('#model option', (o) => o.length)) === 2, 'the picker does not list both models');
    await page.selectOption('#model', 'other-model');
    await page.click('#open-settings');
    await page.fill('#set-system', 'Answer briefly.');
    await page.uncheck('#set-temp-default');
    await page.fill('#set-max', '123');
    await page.click('#settings button.primary');
    await page.click('#new-chat');
    await sendMessage('check the request');
    await idle();
    await page.unroute('**/v1/models');
    await page.unroute('**/v1/chat/completions');
    check(sent, 'no request was sent');
    const b = sent.body;
    check(b.model === 'other-model', `model ${b.model}`);
    check(b.stream === true && b.stream_options?.include_usage === true, 'not streaming with include_usage');
    check(b.max_tokens === 123 && typeof b.temperature === 'number', `max_tokens ${b.max_tokens}, temperature ${b.temperature}`);
    check(b.messages[0].role === 'system' && b.messages[0].content === 'Answer briefly.' && b.messages.at(-1).content === 'check the request', `messages ${JSON.stringify(b.messages)}`);
    check(!apiKey || sent.auth === `Bearer ${apiKey}`, 'the key is not sent as a Bearer token');
    // Back to the server's own model list and defaults.
    await page.click('#open-settings');
    await page.fill('#set-system', '');
    await page.check('#set-temp-default');
    await page.fill('#set-max', '48');
    await page.click('#settings button.primary');
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction((id) => document.querySelector('#model-name').textContent === id, modelID);
  });

  await step('exports Markdown and JSON', async () => {
    const title = await page.textContent('#chat-title');
    const [md] = await Promise.all([page.waitForEvent('download'), page.click('#export-md')]);
    const mdText = fs.readFileSync(await md.path(), 'utf8');
    check(mdText.startsWith(`# ${title}\n`) && mdText.includes('## You'), `Markdown export starts ${JSON.stringify(mdText.slice(0, 60))}`);
    const [js] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const j = JSON.parse(fs.readFileSync(await js.path(), 'utf8'));
    check(j.conversations?.[0]?.title === title && j.conversations[0].messages.length >= 2, 'JSON export lacks the conversation');
  });

  await step('renames and deletes a conversation', async () => {
    const n = (await page.$$('#conversations .conv')).length;
    await page.hover('#conversations .conv.active');
    await page.click('#conversations .conv.active button[title="Rename"]');
    await page.fill('.conv-rename', 'Renamed chat');
    await page.press('.conv-rename', 'Enter');
    check((await page.textContent('#conversations .conv.active .conv-open')) === 'Renamed chat', 'rename did not take');
    check((await page.textContent('#chat-title')) === 'Renamed chat', 'the title bar kept the old name');
    expectDialog = true;
    await page.click('#conversations .conv.active button[title="Delete"]');
    await page.waitForFunction((n) => document.querySelectorAll('#conversations .conv').length === n - 1, n);
    expectDialog = false;
    await page.reload({ waitUntil: 'load' });
    const titles = await page.$$eval('#conversations .conv-open', (b) => b.map((x) => x.textContent));
    check(titles.length === n - 1 && !titles.includes('Renamed chat'), `after reload: ${JSON.stringify(titles)}`);
  });

  if (shotPath) {
    await step('screenshot', async () => {
      // A scripted conversation: the test model's random weights write gibberish.
      await page.evaluate(() => { localStorage.clear(); });
      await page.reload({ waitUntil: 'load' });
      if (apiKey) {
        await page.waitForSelector('#key-dialog[open]');
        await page.fill('#key-input', apiKey);
        await page.press('#key-input', 'Enter');
      }
      const demo = JSON.parse(fs.readFileSync(path.join(here, 'demo-chat.json'), 'utf8'));
      const ago = [0, 2, 3, 30, 100]; // hours: two today, the rest earlier this week
      demo.conversations.forEach((c, i) => { c.updated = Date.now() - (ago[i] ?? 200) * 3600e3; });
      await page.setInputFiles('#import-file', { name: 'demo-chat.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(demo)) });
      await page.waitForSelector('.msg.assistant .answer .katex');
      await page.click('.msg.assistant details.think > summary');
      await page.evaluate(() => { document.querySelector('#scroller').scrollTop = 0; });
      await page.evaluate(() => { document.querySelector('#toast').hidden = true; });
      await page.mouse.move(1190, 790);
      await page.waitForTimeout(300);
      await page.screenshot({ path: shotPath });
    });
  }
} catch (e) {
  if (!failures) console.log(`FAIL  ${current}: ${e.message.split('\n')[0]}`);
  if (process.env.FAILSHOT) await page.screenshot({ path: process.env.FAILSHOT }).catch(() => {});
  console.log(e.stack);
  failures++;
} finally {
  await browser.close().catch(() => {});
  fs.rmSync(userDir, { recursive: true, force: true });
}
if (failures) {
  console.log(`browser-test: failed at "${current}"`);
  process.exit(1);
}
console.log('browser-test: all checks passed');
