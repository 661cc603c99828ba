// Every error path over raw HTTP and WebSocket (docs/protocol.md "Errors"), each followed by a
// check that other clients are unaffected.
import {test, describe, before, after, afterEach} from 'node:test';
import assert from 'node:assert/strict';
import {startGateway, testConfig, withLog, sleep} from './lib/gateway.mjs';
import {postBayeux, HttpSession, WsSession, reply, assertServing, newId} from './lib/raw.mjs';

const LIMITS = {
  max_body: 16384,
  max_ws_message: 16384,
  max_subscriptions: 5,
  max_channel_length: 64,
  max_batch: 10,
  queue_messages: 5,
  queue_bytes: 4096,
  max_message_size: 6000, // in config.c, not yet in docs/protocol.md
};

const isHandshakeAdvice = (m) => m?.advice?.reconnect === 'handshake';

describe('errors with small limits', () => {
  let gw;
  let bystander;
  let bystanderSeq = 0;
  const t = (name, fn) => test(name, withLog(() => gw, fn));

  before(async () => {
    gw = await startGateway({config: testConfig({bayeux: {timeout_ms: 2000}, limits: LIMITS})});
    bystander = await WsSession.open(gw);
    await bystander.handshake();
    assert.equal((await bystander.subscribe('/bystander')).successful, true);
  });
  after(async () => {
    await bystander?.close();
    await gw?.stop();
  });
  // After each error: the gateway still serves, and an older session still receives.
  afterEach(async () => {
    if (!gw?.running()) throw new Error(`gateway died\n${gw?.describe()}`);
    await assertServing(gw);
    const seq = ++bystanderSeq;
    const p = await WsSession.open(gw);
    try {
      await p.handshake();
      assert.equal((await p.publish('/bystander', {seq})).successful, true);
      await bystander.waitDeliveries((m) => m.channel === '/bystander' && m.data?.seq === seq, 1, 3000);
    } finally {
      await p.close();
    }
  });

  t('malformed JSON body → HTTP 400 with a Bayeux error body', async () => {
    const r = await postBayeux(gw, '[{"channel": "/meta/handshake", ', {raw: true});
    assert.equal(r.status, 400);
    assert.ok(Array.isArray(r.json), `body must be a JSON array: ${r.text}`);
    assert.equal(r.json[0].successful, false);
    assert.equal(r.json[0].error, '400::invalid json');
  });

  t('messages that are not objects, miss the channel or have a bad field type → 400', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    for (const bad of [[42], [{id: 'nochan', clientId: s.clientId, data: 1}], [{id: 'badtype', channel: 12345, clientId: s.clientId}],
      [{id: 'badsub', channel: '/meta/subscribe', clientId: s.clientId, subscription: 7}]]) {
      const r = await postBayeux(gw, bad, {jar: s.jar});
      // The body is JSON: HTTP 200, the error is in the message's reply (docs/protocol.md).
      assert.equal(r.status, 200, `${JSON.stringify(bad)} → HTTP ${r.status} ${r.text}`);
      assert.ok(Array.isArray(r.json) && r.json.length === 1, `${JSON.stringify(bad)} → ${r.text}`);
      assert.equal(r.json[0].successful, false, `${JSON.stringify(bad)} → ${r.text}`);
      assert.match(r.json[0].error ?? '', /^400:/, `${JSON.stringify(bad)} → ${r.text}`);
    }
  });

  t('body over max_body → HTTP 413', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    const big = [{channel: '/big/one', clientId: s.clientId, data: 'x'.repeat(LIMITS.max_body + 100)}];
    const r = await postBayeux(gw, big, {jar: s.jar});
    assert.equal(r.status, 413);
    // The session is still usable with a small request.
    assert.equal((await s.publish('/big/one', 'small')).successful, true);
  });

  t('unknown clientId → 402::session_unknown with handshake advice (HTTP and websocket)', async () => {
    const fake = 'AAAAAAAAAAAAAAAAAAAAAAAA';
    const r = await postBayeux(gw, [{id: '1', channel: '/meta/connect', clientId: fake, connectionType: 'long-polling'}]);
    assert.equal(r.status, 200);
    const c = reply(r.json ?? [], '/meta/connect');
    assert.equal(c?.successful, false, r.text);
    assert.equal(c.error, '402::session_unknown');
    assert.ok(isHandshakeAdvice(c), `advice: ${JSON.stringify(c.advice)}`);
    assert.equal(c.advice.interval, 0);

    const r2 = await postBayeux(gw, [{id: '2', channel: '/some/channel', clientId: fake, data: 1}]);
    const p = r2.json?.find((m) => m.channel === '/some/channel');
    assert.equal(p?.successful, false, r2.text);
    assert.equal(p.error, '402::session_unknown');

    const w = await WsSession.open(gw, {autoConnect: false});
    try {
      w.clientId = fake;
      const cw = await w.request({channel: '/meta/connect', connectionType: 'websocket'});
      assert.equal(cw.successful, false);
      assert.equal(cw.error, '402::session_unknown');
      assert.ok(isHandshakeAdvice(cw));
    } finally {
      w.clientId = null;
      await w.close();
    }
  });

  t('402 after /meta/disconnect', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    await s.connect();
    const d = await s.disconnect();
    assert.equal(d?.successful, true);
    const c = await s.connect();
    assert.equal(c.reply?.successful, false, c.text);
    assert.equal(c.reply.error, '402::session_unknown');
    assert.ok(isHandshakeAdvice(c.reply));
    const sub = await s.subscribe('/after/disconnect');
    assert.equal(sub.successful, false);
    assert.equal(sub.error, '402::session_unknown');

    const w = await WsSession.open(gw, {autoConnect: false});
    try {
      await w.handshake();
      assert.equal((await w.request({channel: '/meta/disconnect'})).successful, true);
      // A later message on the same socket is answered 402 (the socket stays open).
      const r = await Promise.race([w.request({channel: '/x/y', data: 1}, 2000), w.closed.then((x) => ({closed: x}))]);
      assert.ok(!r.closed, `socket closed instead of a 402 reply: ${JSON.stringify(r.closed)}`);
      assert.equal(r.successful, false, JSON.stringify(r));
      assert.equal(r.error, '402::session_unknown');
      assert.ok(isHandshakeAdvice(r), JSON.stringify(r.advice));
    } finally {
      await w.close();
    }
  });

  t('subscribing to /meta/** → 403', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    for (const ch of ['/meta/**', '/meta/*', '/meta/connect', '/meta/handshake']) {
      const r = await s.subscribe(ch);
      assert.equal(r.successful, false, `${ch}: ${JSON.stringify(r)}`);
      assert.match(r.error ?? '', /^403:/, `${ch}: ${r.error}`);
    }
  });

  t('publishing to an unknown /meta channel → 403', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    const r = await s.publish('/meta/bogus', {x: 1});
    assert.equal(r.successful, false, JSON.stringify(r));
    assert.match(r.error ?? '', /^403:/);
  });

  t('invalid channel names → 405:<channel>:invalid channel', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    const long = '/' + 'a'.repeat(LIMITS.max_channel_length); // max + 1 characters
    for (const ch of ['noslash', '/a//b', '/a/b c', '/a/', '/a/**/b', '/a/*x', '/a/ü', long]) {
      const r = await s.subscribe(ch);
      assert.equal(r.successful, false, `${ch}: ${JSON.stringify(r)}`);
      assert.equal(r.error, `405:${ch}:invalid channel`, `subscribe ${ch}`);
    }
    const p = await s.publish('/a/b c', 1);
    assert.equal(p.successful, false);
    assert.equal(p.error, '405:/a/b c:invalid channel');
    // Longest valid name and every allowed character are accepted.
    const ok = '/' + 'b'.repeat(LIMITS.max_channel_length - 1);
    assert.equal((await s.subscribe(ok)).successful, true, 'channel of exactly max_channel_length');
    assert.equal((await s.subscribe('/Az09_-.!~()$@:=+%/x')).successful, true, 'all allowed characters');
  });

  t('publishing to a wildcard channel → 405', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    for (const ch of ['/a/*', '/a/**']) {
      const r = await s.publish(ch, 1);
      assert.equal(r.successful, false, `${ch}: ${JSON.stringify(r)}`);
      assert.equal(r.error, `405:${ch}:invalid channel`);
    }
  });

  t('more than max_subscriptions → 403', async () => {
    const w = await WsSession.open(gw);
    try {
      await w.handshake();
      for (let i = 0; i < LIMITS.max_subscriptions; i++) {
        const r = await w.subscribe(`/many/${i}`);
        assert.equal(r.successful, true, `subscription ${i}: ${JSON.stringify(r)}`);
      }
      const over = await w.subscribe('/many/over');
      assert.equal(over.successful, false);
      assert.match(over.error ?? '', /^403:/);
      // Existing subscriptions still deliver; unsubscribing frees a slot.
      const p = await WsSession.open(gw);
      try {
        await p.handshake();
        await p.publish('/many/0', 'still');
        await w.waitDeliveries((m) => m.channel === '/many/0', 1, 3000);
        assert.equal((await w.unsubscribe('/many/1')).successful, true);
        assert.equal((await w.subscribe('/many/over')).successful, true);
      } finally {
        await p.close();
      }
    } finally {
      await w.close();
    }
  });

  t('a request with more than max_batch messages → 400, none of them applied (HTTP)', async () => {
    const s = new HttpSession(gw);
    await s.handshake();
    const watcher = await WsSession.open(gw);
    try {
      await watcher.handshake();
      const sub = await watcher.subscribe('/batch/http');
      assert.equal(sub.successful, true, `watcher subscribe: ${JSON.stringify(sub)}`);
      const msgs = Array.from({length: LIMITS.max_batch + 1}, (_, i) => ({channel: '/batch/http', data: i}));
      const r = await s.send(msgs);
      // HTTP 400 and one error reply for the whole request (docs/protocol.md).
      assert.equal(r.status, 400, `HTTP ${r.status} ${r.text}`);
      assert.ok(Array.isArray(r.json) && r.json.length === 1, r.text);
      assert.equal(r.json[0].successful, false, r.text);
      assert.match(r.json[0].error ?? '', /^400::too many messages/, r.text);
      // The watcher does receive a message sent afterwards; only that one may have arrived.
      assert.equal((await s.publish('/batch/http', 'after')).successful, true);
      await watcher.waitDeliveries((m) => m.channel === '/batch/http' && m.data === 'after', 1, 3000);
      await sleep(300);
      assert.deepEqual(watcher.deliveries('/batch/http').map((m) => m.data), ['after'],
        'messages of the rejected batch were delivered');
      // Exactly max_batch is fine (to a channel without subscribers: queue_messages is small).
      const ok = await s.send(msgs.map((m) => ({...m, channel: '/batch/nobody'})).slice(0, LIMITS.max_batch));
      assert.equal(ok.status, 200);
      const acks = ok.json.filter((m) => m.channel === '/batch/nobody');
      assert.equal(acks.length, LIMITS.max_batch, ok.text);
      assert.ok(acks.every((m) => m.successful), ok.text);
    } finally {
      await watcher.close();
    }
  });

  t('a websocket frame with more than max_batch messages → one 400 reply, socket open, none applied', async () => {
    const w = await WsSession.open(gw);
    const watcher = await WsSession.open(gw);
    try {
      await w.handshake();
      await watcher.handshake();
      const sub = await watcher.subscribe('/batch/ws');
      assert.equal(sub.successful, true, `watcher subscribe: ${JSON.stringify(sub)}`);
      const from = w.inbox.items.length;
      const sent = w.send(Array.from({length: LIMITS.max_batch + 1}, (_, i) => ({channel: '/batch/ws', data: i})));
      const r = await Promise.race([
        w.inbox.waitFor((m) => w.inbox.items.indexOf(m) >= from && m.channel !== '/meta/connect', 3000, 'a reply to the frame'),
        w.closed.then((c) => ({closed: c})),
      ]);
      assert.ok(!r.closed, `socket closed instead of a 400 reply: ${JSON.stringify(r.closed)}`);
      assert.equal(r.successful, false, JSON.stringify(r));
      assert.match(r.error ?? '', /^400::too many messages/, JSON.stringify(r));
      // The socket is still usable, and the watcher receives what is sent afterwards, only that.
      assert.equal((await w.publish('/batch/ws', 'after')).successful, true);
      await watcher.waitDeliveries((m) => m.channel === '/batch/ws' && m.data === 'after', 1, 3000);
      await sleep(300);
      assert.equal(w.inbox.filter((m) => sent.some((x) => x.id === m.id)).length, 0, 'a message of the rejected frame was answered');
      assert.deepEqual(watcher.deliveries('/batch/ws').map((m) => m.data), ['after'],
        'messages of the rejected frame were delivered');
    } finally {
      await Promise.all([w.close(), watcher.close()]);
    }
  });

  t('a single message over limits.max_message_size → 413::message too large', async () => {
    const w = await WsSession.open(gw);
    try {
      await w.handshake();
      const r = await w.publish('/big/msg', 'm'.repeat(LIMITS.max_message_size + 100));
      assert.equal(r.successful, false);
      assert.match(r.error ?? '', /^413:/);
      assert.equal((await w.publish('/big/msg', 'fine')).successful, true);
    } finally {
      await w.close();
    }
  });

  t('websocket message over max_ws_message → close 1009', async () => {
    const w = await WsSession.open(gw, {autoConnect: false});
    await w.handshake();
    w.send([{channel: '/big/ws', data: 'y'.repeat(LIMITS.max_ws_message + 100)}]);
    const c = await Promise.race([w.closed, sleep(3000).then(() => null)]);
    assert.ok(c, 'connection not closed');
    assert.equal(c.code, 1009);
    await w.close();
  });

  t('a message bigger than queue_bytes overflows the queue → held connect gets 409 + handshake advice', async () => {
    const a = new HttpSession(gw);
    await a.handshake();
    await a.connect();
    assert.equal((await a.subscribe('/over/bytes')).successful, true);
    const held = a.connect();
    await sleep(300);
    const p = new HttpSession(gw);
    await p.handshake();
    assert.equal((await p.publish('/over/bytes', 'z'.repeat(LIMITS.queue_bytes + 500))).successful, true);
    const r = await held;
    assert.equal(r.reply?.successful, false, r.text.slice(0, 300));
    assert.equal(r.reply.error, '409::queue_overflow');
    assert.ok(isHandshakeAdvice(r.reply), JSON.stringify(r.reply.advice));
    // Session ended.
    const again = await a.connect();
    assert.equal(again.reply?.error, '402::session_unknown', again.text.slice(0, 300));
    await sleep(100);
    assert.ok(gw.stderr().includes(a.clientId), 'the overflow is logged with the clientId');
  });

  t('more than queue_messages queued → held connect gets 409 + handshake advice, session ended', async () => {
    const a = new HttpSession(gw);
    await a.handshake();
    await a.connect();
    assert.equal((await a.subscribe('/over/count')).successful, true);
    const held = a.connect();
    await sleep(300);
    const p = new HttpSession(gw);
    await p.handshake();
    // One request (≤ max_batch) with twice queue_messages messages, processed in one go.
    const r0 = await p.send(Array.from({length: LIMITS.queue_messages * 2}, (_, i) => ({channel: '/over/count', data: i})));
    assert.equal(r0.status, 200);
    assert.ok(r0.json.filter((m) => m.channel === '/over/count').every((m) => m.successful), r0.text);
    // The held connect is answered with the overflow (docs/protocol.md), in this very response.
    const r1 = await held;
    assert.equal(r1.status, 200);
    assert.equal(r1.reply?.successful, false, r1.text.slice(0, 600));
    assert.equal(r1.reply.error, '409::queue_overflow', r1.text.slice(0, 600));
    assert.ok(isHandshakeAdvice(r1.reply), JSON.stringify(r1.reply.advice));
    // Session ended.
    const again = await a.connect();
    assert.equal(again.reply?.error, '402::session_unknown', again.text.slice(0, 300));
    await sleep(100);
    assert.ok(gw.stderr().includes(a.clientId), 'the overflow is logged with the clientId');
  });
});

describe('session sweep after max_interval', () => {
  let gw;
  const t = (name, fn) => test(name, withLog(() => gw, fn));
  const MAX_INTERVAL = 1000;
  const TIMEOUT = 500;

  before(async () => {
    gw = await startGateway({config: testConfig({bayeux: {timeout_ms: TIMEOUT, max_interval_ms: MAX_INTERVAL}})});
  });
  after(async () => {
    await gw?.stop();
  });

  t('a session without a connect for max_interval is swept; a polling one is kept', async () => {
    const idle = new HttpSession(gw);
    await idle.handshake();
    await idle.connect();
    assert.equal((await idle.subscribe('/sweep/x')).successful, true);
    const busy = new HttpSession(gw);
    await busy.handshake();
    await busy.connect();
    assert.equal((await busy.subscribe('/sweep/x')).successful, true);
    const ws = await WsSession.open(gw); // autoConnect keeps it alive
    await ws.handshake();
    await ws.subscribe('/sweep/x');

    const until = Date.now() + MAX_INTERVAL * 2.5;
    while (Date.now() < until) {
      const c = await busy.connect();
      assert.equal(c.reply?.successful, true, c.text);
    }
    const c = await idle.connect();
    assert.equal(c.reply?.successful, false, c.text);
    assert.equal(c.reply.error, '402::session_unknown');
    assert.ok(isHandshakeAdvice(c.reply));
    assert.equal(c.reply.advice.interval, 0);

    // The survivors still get messages.
    const p = new HttpSession(gw);
    await p.handshake();
    await p.publish('/sweep/x', 'alive');
    await ws.waitDeliveries((m) => m.data === 'alive', 1, 2000);
    const b = await busy.connect();
    assert.ok(b.messages.some((m) => m.data === 'alive'), b.text);
    await ws.close();
  });

  t('a websocket client that vanished is swept', async () => {
    const w = await WsSession.open(gw, {autoConnect: false});
    await w.handshake();
    const id = w.clientId;
    w.ws.terminate();
    await sleep(MAX_INTERVAL * 2 + TIMEOUT);
    const r = await postBayeux(gw, [{id: newId(), channel: '/meta/connect', clientId: id, connectionType: 'long-polling'}]);
    const c = reply(r.json ?? [], '/meta/connect');
    assert.equal(c?.error, '402::session_unknown', r.text);
  });
});
