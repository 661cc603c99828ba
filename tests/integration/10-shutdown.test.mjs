// SIGTERM: connected clients are told or disconnected, and the process exits 0 within 2 s.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {startGateway, testConfig, sleep} from './lib/gateway.mjs';
import {WsSession, HttpSession} from './lib/raw.mjs';

const TIMEOUT = 10000; // long holds: shutdown must not wait for them

test('SIGTERM with websocket and long-polling sessions connected: clean exit within 2 s', async () => {
  const gw = await startGateway({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})});
  let ws = [];
  try {
    ws = await Promise.all(Array.from({length: 3}, () => WsSession.open(gw)));
    await Promise.all(ws.map((w) => w.handshake()));
    await Promise.all(ws.map((w) => w.subscribe('/down/x')));
    const lp = new HttpSession(gw);
    await lp.handshake();
    await lp.connect();
    const lpHeld = lp.connect().then((r) => ({r}), (e) => ({e}));
    await sleep(300); // connects are now held
    const before = ws.map((w) => w.inbox.items.length);

    const t0 = Date.now();
    const stopped = gw.stop({timeoutMs: 2000}); // asserts exit code 0 within 2 s
    const closes = await Promise.all(ws.map((w) => Promise.race([w.closed, sleep(2500).then(() => null)])));
    const {ms} = await stopped;
    assert.ok(ms <= 2000, `exit took ${ms} ms`);
    closes.forEach((c, i) => assert.ok(c, `websocket ${i} was not closed by the shutdown`));
    // Whatever the server said before closing must not tell the client to give up for good.
    ws.forEach((w, i) => {
      for (const m of w.inbox.items.slice(before[i])) {
        if (m.channel === '/meta/connect' && m.advice) {
          assert.ok(['retry', 'handshake'].includes(m.advice.reconnect), `websocket ${i} got advice ${JSON.stringify(m.advice)}`);
        }
      }
    });
    const held = await Promise.race([lpHeld, sleep(1000).then(() => null)]);
    assert.ok(held, 'held long-poll still pending after the gateway exited');
    assert.ok(Date.now() - t0 < 3500);
    if (held.r && held.r.reply) {
      assert.ok(['retry', 'handshake'].includes(held.r.reply.advice?.reconnect ?? 'retry'), held.r.text);
    }
  } finally {
    await gw.kill();
    await Promise.all(ws.map((w) => w.close()));
  }
});

test('SIGTERM with 300 websocket clients: exit 0 within 2 s', async () => {
  const gw = await startGateway({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})});
  const ws = [];
  try {
    for (let i = 0; i < 300; i += 50) {
      const batch = await Promise.all(Array.from({length: 50}, () => WsSession.open(gw)));
      await Promise.all(batch.map((w) => w.handshake()));
      ws.push(...batch);
    }
    const {code, ms} = await gw.stop({timeoutMs: 2000});
    assert.equal(code, 0);
    assert.ok(ms <= 2000);
    const closed = await Promise.all(ws.map((w) => Promise.race([w.closed, sleep(1000).then(() => null)])));
    assert.equal(closed.filter((c) => !c).length, 0, 'some websockets stayed open');
  } finally {
    await gw.kill();
    for (let i = 0; i < ws.length; i += 100) await Promise.all(ws.slice(i, i + 100).map((w) => w.close()));
  }
});

test('SIGTERM on an idle gateway: exit 0 at once', async () => {
  const gw = await startGateway({config: testConfig()});
  const {code, ms} = await gw.stop({timeoutMs: 2000});
  assert.equal(code, 0);
  assert.ok(ms < 2000);
});
