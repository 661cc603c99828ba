// The dashboard with ticker pages open: non-zero message rates in and out, session counts per
// transport matching the gateway's /stats, and a chart with points.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {startGateway, withLog} from '../integration/lib/gateway.mjs';
import {assertNoPageErrors, cleanup, browserConfig, launchBrowser, openPage, privateTmp, screenshot, stats,
  waitAttr} from './lib/browser.mjs';

describe('dashboard', () => {
  let gw;
  let tmp;
  let context;

  before(async () => {
    tmp = privateTmp('dashboard');
    gw = await startGateway({config: browserConfig()});
    context = await launchBrowser(tmp);
  });

  after(async () => {
    await cleanup(() => context?.close(), () => gw?.stop(), () => tmp && fs.rmSync(tmp, {recursive: true, force: true}));
  });

  test('shows rates, sessions and a chart while ticker pages are open', withLog(() => gw, async () => {
    // Two ticker pages (websocket and http-streaming) feed the "out" side.
    const tickers = [];
    for (const t of ['websocket', 'http-streaming']) {
      const p = await openPage(context, `${gw.baseUrl}/?transport=${t}`);
      await p.waitForSelector('#status[data-state=connected]');
      tickers.push(p);
    }
    const dash = await openPage(context, `${gw.baseUrl}/dashboard.html?interval=300`);
    await dash.waitForSelector('#status[data-state=ok]');
    assert.equal(await dash.locator('#banner').isHidden(), true);

    const positive = (v) => Number.isFinite(+v) && +v > 0;
    await waitAttr(dash, '#rate-in', 'data-value', positive, {what: 'rate in > 0'});
    await waitAttr(dash, '#rate-out', 'data-value', positive, {what: 'rate out > 0'});
    await waitAttr(dash, '#sessions-websocket', 'data-value', (v) => +v >= 1, {what: 'websocket sessions >= 1'});
    await waitAttr(dash, '#sessions-http-streaming', 'data-value', (v) => +v >= 1, {what: 'http-streaming sessions >= 1'});
    await waitAttr(dash, '#sessions-total', 'data-value', (v) => +v >= 2, {what: 'total sessions >= 2'});
    await waitAttr(dash, 'canvas#rate-chart', 'data-points', (v) => +v >= 4, {what: 'chart with >= 4 points'});
    await waitAttr(dash, '#last-poll', 'data-polls', (v) => +v >= 5, {what: '5 polls'});

    // The figures agree with the gateway's own counters.
    const st = await stats(gw);
    const shown = async (id) => +(await dash.getAttribute(id, 'data-value'));
    assert.equal(await shown('#sessions-websocket'), st.sessions.websocket);
    assert.equal(await shown('#sessions-long-polling'), st.sessions['long-polling']);
    assert.equal(await shown('#sessions-callback-polling'), st.sessions['callback-polling']);
    assert.ok(await shown('#subscriptions') >= 2, 'subscriptions of the two ticker pages');
    assert.ok(await shown('#messages-in') > 0 && await shown('#messages-in') <= st.messages_in);
    assert.ok(await shown('#messages-out') > 0 && await shown('#messages-out') <= st.messages_out);
    assert.equal(await shown('#queue-drops'), 0);
    // Uptime as the gateway reports it (a missing or non-numeric value fails; it may lag /stats
    // by one poll).
    const up = await dash.getAttribute('#uptime', 'data-value');
    assert.match(up ?? '', /^\d+$/, `uptime data-value: ${JSON.stringify(up)}`);
    assert.ok(+up <= st.uptime_s && +up >= st.uptime_s - 2, `uptime shown ${up}, /stats ${st.uptime_s}`);
    assert.notEqual((await dash.textContent('#uptime')).trim(), '—');
    // Two subscribers to every demo update: out runs at about twice in (at 100 ms the demo
    // publishes ~40 updates/s; allow wide margins for a loaded machine).
    const rin = await shown('#rate-in');
    const rout = await shown('#rate-out');
    assert.ok(rin > 5 && rin < 200, `rate in ${rin}/s`);
    assert.ok(rout > rin, `rate out ${rout}/s above rate in ${rin}/s with two subscribers`);
    // The demo feed has no connector: the table says so.
    assert.equal(await dash.locator('table#connectors tr.empty').count(), 1);
    // The chart has drawn something: some non-white pixels in the plot area.
    const inked = await dash.evaluate(() => {
      const c = document.getElementById('rate-chart');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) n++;
      return n;
    });
    assert.ok(inked > 1000, `chart pixels drawn: ${inked}`);

    await screenshot(dash, 'dashboard');
    assertNoPageErrors(dash, ...tickers);
  }));
});
