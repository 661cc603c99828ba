// SIGTERM (README "Running"): every held /meta/connect is answered with advice to re-handshake,
// WebSockets are closed with "going away" (1001), and the process exits 0 within 2 s.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {startGateway, testConfig, sleep} from './lib/gateway.mjs';
import {WsSession, HttpSession} from './lib/raw.mjs';

const TIMEOUT = 10000; // long holds: shutdown must not wait for them
const SHUTDOWN_ERROR = '503::server shutting down'; // docs/protocol.md "Errors"

// The reply a held connect gets at shutdown: unsuccessful, the shutdown error, re-handshake.
function assertShutdownReply(m, what) {
  assert.ok(m, `${what}: no /meta/connect reply`);
  assert.equal(m.channel, '/meta/connect', `${what}: ${JSON.stringify(m)}`);
  assert.equal(m.successful, false, `${what}: ${JSON.stringify(m)}`);
  assert.equal(m.error, SHUTDOWN_ERROR, `${what}: ${JSON.stringify(m)}`);
  assert.equal(m.advice?.reconnect, 'handshake', `${what}: ${JSON.stringify(m)}`);
}

// A websocket session subscribed to channel whose second /meta/connect is held by the server.
async function heldWebSocket(gw, channel) {
  const w = await WsSession.open(gw);
  await w.handshake();
  const s = await w.subscribe(channel);
  assert.equal(s.successful, true, `subscribe ${channel}: ${JSON.stringify(s)}`);
  return w;
}

// Precondition: the latest connect each websocket sent has no reply yet (the server holds it).
function assertHeld(ws) {
  ws.forEach((w, i) => {
    assert.ok(w.lastConnectId, `websocket ${i} sent no connect`);
    assert.equal(w.inbox.filter((m) => m.id === w.lastConnectId).length, 0, `websocket ${i}: connect not held`);
  });
}

test('SIGTERM with websocket sessions connected: each held connect answered with handshake advice, close 1001, exit 0 within 2 s', async () => {
  const gw = await startGateway({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})});
  let ws = [];
  try {
    ws = await Promise.all(Array.from({length: 3}, () => heldWebSocket(gw, '/down/x')));
    await sleep(300);
    assertHeld(ws);
    const heldIds = ws.map((w) => w.lastConnectId);

    const stopped = gw.stop({timeoutMs: 2000}); // exit code 0, no sanitizer report
    const closes = await Promise.all(ws.map((w) => Promise.race([w.closed, sleep(2500).then(() => null)])));
    const {ms} = await stopped;
    assert.ok(ms <= 2000, `exit took ${ms} ms`);
    closes.forEach((c, i) => {
      assert.ok(c, `websocket ${i} was not closed by the shutdown`);
      assert.equal(c.code, 1001, `websocket ${i} close code (going away): ${JSON.stringify(c)}`);
    });
    ws.forEach((w, i) => {
      const replies = w.inbox.filter((m) => m.id === heldIds[i]);
      assert.equal(replies.length, 1, `websocket ${i}: replies to the held connect: ${JSON.stringify(replies)}`);
      assertShutdownReply(replies[0], `websocket ${i}`);
    });
  } finally {
    await gw.kill(); // no-op after stop(); only reached first when an assertion above failed
    await Promise.all(ws.map((w) => w.close()));
  }
});

// Before issue #8 the held response got its status and headers, then the socket closed without a
// body (fetch: "other side closed"): the drain ended before the body was written.
test('SIGTERM with a held long-poll: it is answered 200 with handshake advice before the exit', async () => {
  const gw = await startGateway({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})});
  try {
    const lp = new HttpSession(gw);
    await lp.handshake();
    const first = await lp.connect();
    assert.equal(first.reply?.successful, true, first.text);
    assert.equal((await lp.subscribe('/down/lp')).successful, true);
    const t0 = Date.now();
    const lpHeld = lp.connect().then((r) => ({r}), (e) => ({e}));
    await sleep(300);
    const early = await Promise.race([lpHeld, sleep(0).then(() => null)]);
    assert.equal(early, null, `precondition: the long-poll is held, but it was answered: ${JSON.stringify(early)}`);

    const {ms} = await gw.stop({timeoutMs: 2000});
    assert.ok(ms <= 2000, `exit took ${ms} ms`);
    const held = await Promise.race([lpHeld, sleep(1000).then(() => null)]);
    assert.ok(held, 'held long-poll still pending after the gateway exited');
    assert.ok(Date.now() - t0 < 3500);
    assert.ok(!held.e, `held long-poll failed instead of being answered: ${held.e?.message} ${held.e?.cause ?? ''}`);
    assert.equal(held.r.status, 200, held.r.text);
    assert.equal(held.r.all.length, 1, `one reply, the connect's: ${held.r.text}`);
    assertShutdownReply(held.r.reply, 'held long-poll');
  } finally {
    await gw.kill();
  }
});

test('SIGTERM with 300 websocket clients: exit 0 within 2 s, every socket closed 1001', async () => {
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
    assert.ok(ms <= 2000, `exit took ${ms} ms`);
    const closed = await Promise.all(ws.map((w) => Promise.race([w.closed, sleep(1000).then(() => null)])));
    assert.equal(closed.filter((c) => !c).length, 0, 'some websockets stayed open');
    const codes = [...new Set(closed.map((c) => c.code))];
    assert.deepEqual(codes, [1001], `close codes: ${codes}`);
  } finally {
    await gw.kill();
    for (let i = 0; i < ws.length; i += 100) await Promise.all(ws.slice(i, i + 100).map((w) => w.close()));
  }
});

test('SIGTERM on an idle gateway: exit 0 at once', async () => {
  const gw = await startGateway({config: testConfig()});
  const {code, ms} = await gw.stop({timeoutMs: 2000});
  assert.equal(code, 0);
  assert.ok(ms < 2000, `exit took ${ms} ms`);
});
