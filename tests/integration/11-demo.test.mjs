// The built-in config (no -c) runs a demo feed publishing on /demo/ticker/<SYMBOL>.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {gatewayForFile} from './lib/gateway.mjs';
import {WsSession, Inbox} from './lib/raw.mjs';
import {makeCometD, handshake, subscribe, disconnect} from './lib/cometd-client.mjs';

let gw;
const t = gatewayForFile({}, (g) => (gw = g)); // no -c: the built-in config

for (const transport of ['websocket', 'long-polling']) {
  t(`CometD over ${transport}: /demo/ticker/* delivers updates within 3 s`, async () => {
    const c = makeCometD(gw.cometdUrl, {transport});
    try {
      await handshake(c);
      const got = new Inbox();
      await subscribe(c, '/demo/ticker/*', (m) => got.push(m));
      // The built-in feed publishes every 250 ms: the first update within 3 s (the wait's own
      // timeout is the bound), and it keeps coming: 4 more within the next 3 s.
      const first = await got.waitFor(() => true, 3000, 'demo update within 3 s');
      await got.waitForCount(() => true, 5, 3000, 'demo updates (5 within 3 s)');
      assert.match(first.channel, /^\/demo\/ticker\/[A-Za-z0-9_.-]+$/);
      assert.ok(first.data !== null && typeof first.data === 'object', `data: ${JSON.stringify(first.data)}`);
      assert.equal(typeof first.id, 'string');
    } finally {
      await disconnect(c);
    }
  });
}

t('demo updates keep coming, with unique ids, only on /demo/ticker/*', async () => {
  const w = await WsSession.open(gw);
  try {
    await w.handshake();
    await w.subscribe('/demo/ticker/*');
    await w.waitDeliveries(() => true, 5, 6000);
    const ids = w.deliveries().map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'bus message ids are unique');
    for (const m of w.deliveries()) assert.match(m.channel, /^\/demo\/ticker\/[^/]+$/);
  } finally {
    await w.close();
  }
});
