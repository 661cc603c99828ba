// The ticker page in headless Chromium, once per transport (forced with ?transport=): the page
// connects, shows and really uses that transport (network traffic and the gateway's /stats),
// and demo updates arrive: the counter rises, a price changes, and the changed cell flashes.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {startGateway, withLog} from '../integration/lib/gateway.mjs';
import {TRANSPORTS, assertNoPageErrors, cleanup, browserConfig, launchBrowser, openPage, privateTmp, screenshot, stats,
  waitAttr, waitFor} from './lib/browser.mjs';

describe('ticker page over each transport', () => {
  let gw;
  let context;
  let tmp;

  before(async () => {
    tmp = privateTmp('ticker');
    gw = await startGateway({config: browserConfig()});
    context = await launchBrowser(tmp);
  });

  after(async () => {
    await cleanup(() => context?.close(), () => gw?.stop(), () => tmp && fs.rmSync(tmp, {recursive: true, force: true}));
  });

  for (const transport of TRANSPORTS) {
    test(transport, withLog(() => gw, async () => {
      const before = (await stats(gw)).sessions[transport];
      // What went over the wire, to prove the forced transport is the one in use.
      const wire = {websockets: 0, jsonp: 0, eventStreams: 0, posts: 0};
      const onWs = (ws) => ws.url().includes('/cometd') && wire.websockets++;
      const onRequest = (r) => {
        if (!r.url().includes('/cometd')) return;
        if (r.method() === 'GET' && /[?&]jsonp=/.test(r.url())) wire.jsonp++;
        if (r.method() === 'POST') wire.posts++;
      };
      const onResponse = (r) => {
        if (r.url().includes('/cometd') && /text\/event-stream/.test(r.headers()['content-type'] || '')) {
          wire.eventStreams++;
        }
      };
      context.on('request', onRequest);
      context.on('response', onResponse);
      const page = await openPage(context, `${gw.baseUrl}/?transport=${transport}`, (p) => p.on('websocket', onWs));
      try {
        await page.waitForSelector('#status[data-state=connected]');
        assert.equal(await page.getAttribute('#transport', 'data-transport'), transport);
        assert.equal((await page.textContent('#transport')).trim(), transport);
        assert.equal(await page.locator('#banner').isHidden(), true, 'banner hidden when connected');
        assert.equal(await page.evaluate(() => window.cometgate.client.transport), transport);

        // Updates arrive: the counter rises, AAPL's price changes, a changed cell flashes.
        const first = +(await page.textContent('#update-count'));
        const price0 = await waitAttr(page, 'tr[data-item=AAPL] td[data-field=last]', 'data-value', (v) => v !== '',
          {what: 'first AAPL price'});
        await waitFor(async () => +(await page.textContent('#update-count')) >= first + 10,
          {what: 'update count to rise by 10'});
        await waitAttr(page, 'tr[data-item=AAPL] td[data-field=last]', 'data-value', (v) => v !== price0,
          {what: `AAPL price to change from ${price0}`});
        const flashed = page.locator('table#ticker td[data-flash]');
        await flashed.first().waitFor();
        const cls = await flashed.first().getAttribute('class');
        assert.match(cls, /\bflash-(up|down|changed)\b/);
        await waitFor(async () => +(await page.textContent('#item-count')) === 8, {what: 'the 8 demo symbols'});
        assert.equal(await page.locator('table#ticker tr[data-item]').count(), 8);
        const aaplText = (await page.textContent('tr[data-item=AAPL] td[data-field=last]')).trim();
        assert.match(aaplText, /^\d[\d,]*(\.\d+)?$/, 'price shown formatted');

        // The gateway has one more session of this transport.
        const s = await waitFor(async () => {
          const st = await stats(gw);
          return st.sessions[transport] > before && st;
        }, {what: `/stats sessions.${transport} above ${before}`});
        assert.ok(s.sessions.total >= 1);

        // ... and the browser really talked that transport.
        if (transport === 'websocket') {
          assert.ok(wire.websockets >= 1, 'a WebSocket to /cometd was opened');
        } else {
          assert.equal(wire.websockets, 0, 'no WebSocket when a polling transport is forced');
        }
        if (transport === 'callback-polling') {
          assert.ok(wire.jsonp >= 2, `JSONP GETs to /cometd (saw ${wire.jsonp})`);
          assert.equal(wire.posts, 0, 'callback-polling sends no POST');
        } else {
          assert.equal(wire.jsonp, 0, 'no JSONP requests');
        }
        if (transport === 'http-streaming') {
          assert.ok(wire.eventStreams >= 1, 'a text/event-stream connect response');
        } else {
          assert.equal(wire.eventStreams, 0, 'no event streams');
        }
        if (transport === 'long-polling') assert.ok(wire.posts >= 2, 'long-polling POSTs');

        await page.waitForTimeout(150); // let a flash be visible in the picture
        await screenshot(page, `ticker-${transport}`);
        assertNoPageErrors(page);
      } finally {
        context.off('request', onRequest);
        context.off('response', onResponse);
        await page.close();
      }
    }));
  }
});
