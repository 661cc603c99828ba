// When the gateway cannot be reached the pages say so: a page pointed at a dead port shows the
// error banner; a gateway killed under open pages makes them show the banner, and after it is
// restarted on the same port they reconnect, hide the banner and get updates again.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {freePort, sleep, withLog} from '../integration/lib/gateway.mjs';
import {assertNoPageErrors, cleanup, browserConfig, launchBrowser, openPage, privateTmp, screenshot,
  startGatewayAt, waitAttr, waitFor} from './lib/browser.mjs';

describe('gateway unreachable', () => {
  let gw;
  let port;
  let tmp;
  let context;

  before(async () => {
    tmp = privateTmp('unreachable');
    port = await freePort();
    gw = await startGatewayAt(port, browserConfig(), tmp);
    context = await launchBrowser(tmp);
  });

  after(async () => {
    await cleanup(() => context?.close(), () => gw?.stop(), () => tmp && fs.rmSync(tmp, {recursive: true, force: true}));
  });

  test('a page pointed at a dead port shows the error banner', withLog(() => gw, async () => {
    const dead = await freePort();
    const url = `http://127.0.0.1:${dead}/cometd`;
    // Failures to reach the dead port are the point; anything else (the page itself, its
    // scripts, any HTTP error) must still be clean.
    const deadOnly = {allowNetErrors: (e) => e.includes(`127.0.0.1:${dead}/`)};
    const ticker = await openPage(context, `${gw.baseUrl}/?url=${encodeURIComponent(url)}`, null, deadOnly);
    const dash = await openPage(context, `${gw.baseUrl}/dashboard.html?interval=300&url=${encodeURIComponent(url)}`, null, deadOnly);
    try {
      await ticker.waitForSelector('#status[data-state=reconnecting]');
      await ticker.waitForSelector('#banner[data-kind=error]:not([hidden])');
      assert.match(await ticker.textContent('#banner'), /unreachable/i);
      assert.equal(await ticker.getAttribute('body', 'data-state'), 'reconnecting');
      assert.equal(await ticker.textContent('#update-count'), '0');

      await dash.waitForSelector('#status[data-state=error]');
      await dash.waitForSelector('#banner[data-kind=error]:not([hidden])');
      assert.ok((await dash.textContent('#banner')).includes(`127.0.0.1:${dead}/stats`), 'banner names the URL');

      await screenshot(ticker, 'unreachable-ticker');
      await screenshot(dash, 'unreachable-dashboard');
      assert.ok(ticker.netErrors.some(deadOnly.allowNetErrors), `the browser did try to connect: ${ticker.netErrors}`);
      assertNoPageErrors(ticker, dash);
    } finally {
      await ticker.close();
      await dash.close();
    }
  }));

  test('gateway killed: banner; restarted on the same port: recovery', withLog(() => gw, async () => {
    // The gateway is killed under these pages: connections refused or reset meanwhile are
    // expected (network level, net::ERR_...), an HTTP error status is not.
    const outage = {allowNetErrors: (e) => /net::ERR_/.test(e)};
    const pages = {};
    for (const t of ['websocket', 'long-polling']) {
      pages[t] = await openPage(context, `${gw.baseUrl}/?transport=${t}`, null, outage);
      await pages[t].waitForSelector('#status[data-state=connected]');
      await waitFor(async () => +(await pages[t].textContent('#update-count')) > 0, {what: `updates (${t})`});
    }
    const dash = await openPage(context, `${gw.baseUrl}/dashboard.html?interval=300`, null, outage);
    await dash.waitForSelector('#status[data-state=ok]');
    const clientIds = {};
    for (const [t, p] of Object.entries(pages)) clientIds[t] = await p.evaluate(() => window.cometgate.client.clientId);

    const killed = await gw.kill('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    for (const [t, p] of Object.entries(pages)) {
      await p.waitForSelector('#banner[data-kind=error]:not([hidden])', {timeout: 8000});
      assert.equal(await p.getAttribute('#status', 'data-state'), 'reconnecting', `${t} page state`);
    }
    await dash.waitForSelector('#banner[data-kind=error]:not([hidden])');
    await screenshot(pages.websocket, 'restart-ticker-down');
    await sleep(500);

    gw = await startGatewayAt(port, browserConfig(), tmp);
    for (const [t, p] of Object.entries(pages)) {
      await p.waitForSelector('#status[data-state=connected]', {timeout: 15000});
      assert.equal(await p.locator('#banner').isHidden(), true, `${t}: banner hidden again`);
      assert.equal(await p.getAttribute('#transport', 'data-transport'), t);
      // A new session (the old one died with the process) with the subscription re-made.
      const id = await p.evaluate(() => window.cometgate.client.clientId);
      assert.notEqual(id, clientIds[t], `${t}: handshook again`);
      const n = +(await p.textContent('#update-count'));
      await waitFor(async () => +(await p.textContent('#update-count')) >= n + 5, {what: `updates after restart (${t})`});
    }
    await dash.waitForSelector('#status[data-state=ok]');
    await waitAttr(dash, '#rate-out', 'data-value', (v) => +v > 0, {what: 'dashboard rates after restart'});
    assert.equal(await dash.locator('#banner').isHidden(), true);
    await screenshot(pages.websocket, 'restart-ticker-recovered');
    assertNoPageErrors(dash, ...Object.values(pages));
    for (const p of [dash, ...Object.values(pages)]) await p.close();
  }));
});
