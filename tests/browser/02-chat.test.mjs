// Chat between browsers: four chat pages in one room, each in its own browser profile (a
// different person) and on a different forced transport. A message typed in one appears in all
// the others, non-ASCII text intact and HTML shown as text; a page in another room sees nothing.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {startGateway} from '../integration/lib/gateway.mjs';
import {TRANSPORTS, assertNoPageErrors, cleanup, browserConfig, launchBrowser, openPage, privateTmp, screenshot,
  waitFor} from './lib/browser.mjs';

const PEOPLE = {
  'websocket': 'Ann',
  'long-polling': 'Bjørn',
  'callback-polling': 'Chloé',
  'http-streaming': '李雷',
};

describe('chat between pages on different transports', () => {
  let gw;
  let tmp;
  const contexts = [];
  const pages = {}; // transport -> page
  let outsider; // a page in another room

  before(async () => {
    tmp = privateTmp('chat');
    gw = await startGateway({config: browserConfig({demo: {enabled: false}})});
    const room = 'browser-test';
    // One browser after the other: four starting at once overload a 2-core machine.
    for (const [i, t] of TRANSPORTS.entries()) {
      const ctx = await launchBrowser(tmp, `profile-${i}`);
      contexts.push(ctx);
      pages[t] = await openPage(ctx, `${gw.baseUrl}/chat.html?room=${room}&transport=${t}&name=${encodeURIComponent(PEOPLE[t])}`);
    }
    const ctx = await launchBrowser(tmp, 'profile-outsider');
    contexts.push(ctx);
    outsider = await openPage(ctx, `${gw.baseUrl}/chat.html?room=elsewhere&transport=websocket&name=Zed`);
  });

  after(async () => {
    await cleanup(...contexts.map((c) => () => c.close()), () => gw?.stop(), () => tmp && fs.rmSync(tmp, {recursive: true, force: true}));
  });

  test('every page joins the room on its transport', async () => {
    for (const [t, page] of Object.entries(pages)) {
      await page.waitForSelector('#status[data-state=connected]');
      assert.equal(await page.getAttribute('#transport', 'data-transport'), t);
      assert.equal((await page.textContent('#channel')).trim(), '/chat/browser-test');
      await page.waitForSelector('#chat-send:not([disabled])');
      assert.equal(await page.inputValue('#chat-name'), PEOPLE[t]);
    }
    await outsider.waitForSelector('#chat-send:not([disabled])');
    const st = await (await fetch(`${gw.baseUrl}/stats`)).json();
    for (const t of TRANSPORTS) assert.ok(st.sessions[t] >= 1, `a ${t} session in /stats: ${JSON.stringify(st.sessions)}`);
  });

  // Sends text from one page and checks that every page of the room shows it exactly once.
  async function say(fromTransport, text) {
    const from = pages[fromTransport];
    const before = {};
    for (const [t, p] of Object.entries(pages)) before[t] = await p.locator('#chat-log li:not(.system)').count();
    await from.fill('#chat-text', text);
    await from.click('#chat-send');
    for (const [t, p] of Object.entries(pages)) {
      const li = p.locator('#chat-log li:not(.system)').last();
      await waitFor(async () => (await p.locator('#chat-log li:not(.system)').count()) === before[t] + 1,
        {what: `message from ${fromTransport} on the ${t} page`, timeout: 8000});
      assert.equal(await li.locator('.text').textContent(), text, `text on the ${t} page`);
      assert.equal(await li.getAttribute('data-from'), PEOPLE[fromTransport]);
      assert.equal(await li.locator('.from').textContent(), PEOPLE[fromTransport]);
      assert.equal(await li.getAttribute('data-self'), String(t === fromTransport), `data-self on the ${t} page`);
      assert.equal(await p.textContent('#message-count'), String(before[t] + 1));
    }
    assert.equal(await from.inputValue('#chat-text'), '', 'input cleared after sending');
    // Exactly once: a duplicate arriving after the first copy must show too, so look again
    // after a pause, and count the entries carrying this text.
    await from.waitForTimeout(700);
    for (const [t, p] of Object.entries(pages)) {
      assert.equal(await p.locator('#chat-log li:not(.system)').count(), before[t] + 1, `entries on the ${t} page after a pause`);
      const same = await p.locator('#chat-log li:not(.system) .text').evaluateAll((els, x) => els.filter((e) => e.textContent === x).length, text);
      assert.equal(same, 1, `copies of the message on the ${t} page`);
    }
  }

  test('a message with non-ASCII text and HTML reaches every other page as text', async () => {
    const text = 'Grüße aus Köln — 你好 👋 <b>bold</b> & <img src=x onerror="window.pwned=1"> "quoted"';
    await say('websocket', text);
    for (const [t, p] of Object.entries(pages)) {
      const li = p.locator('#chat-log li:not(.system)').last();
      assert.equal(await li.locator('.text b, .text img').count(), 0, `HTML not interpreted on the ${t} page`);
      assert.equal(await p.evaluate(() => window.pwned), undefined, `no script ran on the ${t} page`);
    }
  });

  test('each transport can send, and all the others receive', async () => {
    await say('long-polling', 'Hej fra Bjørn æøå');
    await say('callback-polling', 'Chloé: ça marche? ¿Sí! ½ € ✓');
    await say('http-streaming', '李雷: 流式传输也可以 🚀 </script><script>window.pwned=2</script>');
    for (const p of Object.values(pages)) assert.equal(await p.evaluate(() => window.pwned), undefined);
  });

  test('a page in another room saw none of it; screenshots', async () => {
    assert.equal(await outsider.locator('#chat-log li:not(.system)').count(), 0);
    assert.equal(await outsider.textContent('#message-count'), '0');
    for (const [t, p] of Object.entries(pages)) await screenshot(p, `chat-${t}`);
    assertNoPageErrors(...Object.values(pages), outsider);
  });
});
