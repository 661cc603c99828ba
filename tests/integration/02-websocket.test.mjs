// WebSocket transport: stock CometD client and raw frames (docs/protocol.md "websocket").
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {gatewayForFile, testConfig, sleep} from './lib/gateway.mjs';
import {WsSession} from './lib/raw.mjs';
import {makeCometD, handshake, subscribe, unsubscribe, publish, disconnect} from './lib/cometd-client.mjs';
import {Inbox} from './lib/raw.mjs';

const TIMEOUT = 2000;
let gw;
const t = gatewayForFile({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})}, (g) => (gw = g));

t('stock CometD clients publish and subscribe over websocket', async () => {
  const a = makeCometD(gw.cometdUrl, {transport: 'websocket'});
  const b = makeCometD(gw.cometdUrl, {transport: 'websocket'});
  try {
    await handshake(a);
    await handshake(b);
    assert.equal(a.getTransport().type, 'websocket');
    assert.equal(b.getTransport().type, 'websocket');
    const got = new Inbox();
    const sub = await subscribe(a, '/ws/chat', (m) => got.push(m));
    const data = {text: 'hello', n: 1, nested: {list: [1, 'two', null, true]}};
    await publish(b, '/ws/chat', data);
    const m = await got.waitFor(() => true, 3000);
    assert.equal(m.channel, '/ws/chat');
    assert.deepEqual(m.data, data);
    assert.equal(typeof m.id, 'string');
    // Unsubscribed: nothing more arrives.
    await unsubscribe(a, sub);
    await publish(b, '/ws/chat', {text: 'after'});
    await sleep(300);
    assert.equal(got.items.length, 1, `got ${JSON.stringify(got.items)}`);
  } finally {
    await Promise.all([disconnect(a), disconnect(b)]);
  }
});

t('a published message keeps its id and data; ext is not forwarded', async () => {
  const a = await WsSession.open(gw);
  const b = await WsSession.open(gw);
  try {
    await a.handshake();
    await b.handshake();
    assert.equal((await a.subscribe('/ws/ids')).successful, true);
    const ack = await b.publish('/ws/ids', {v: 42}, {id: 'my-own-id-1', ext: {secret: 's3cr3t'}});
    assert.equal(ack.successful, true, JSON.stringify(ack));
    assert.equal(ack.id, 'my-own-id-1');
    const [m] = await a.waitDeliveries((x) => x.channel === '/ws/ids', 1, 3000);
    assert.equal(m.id, 'my-own-id-1');
    assert.deepEqual(m.data, {v: 42});
    assert.equal(m.ext, undefined, 'ext must not be forwarded');
    assert.ok(!JSON.stringify(a.frames).includes('s3cr3t'), 'ext content leaked to the subscriber');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

t('deliveries are pushed at once while a /meta/connect is held', async () => {
  const a = await WsSession.open(gw);
  const b = await WsSession.open(gw);
  try {
    await a.handshake();
    await b.handshake();
    await a.subscribe('/ws/push');
    await sleep(200); // a's second connect is now held
    const t0 = Date.now();
    await b.publish('/ws/push', 'x');
    await a.waitDeliveries((m) => m.channel === '/ws/push', 1, 3000);
    const ms = Date.now() - t0;
    assert.ok(ms < TIMEOUT / 2, `delivery took ${ms} ms: it waited for the connect timeout?`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

t('a frame holding one object (not an array) is accepted', async () => {
  const w = await WsSession.open(gw, {autoConnect: false});
  try {
    w.sendRaw(JSON.stringify({id: 'single-1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket']}));
    const hs = await w.inbox.waitFor((m) => m.id === 'single-1', 3000);
    assert.equal(hs.successful, true, JSON.stringify(hs));
  } finally {
    await w.close();
  }
});

t('held connect is answered after advice.timeout; a newer connect replaces it', async () => {
  const w = await WsSession.open(gw, {autoConnect: false});
  try {
    await w.handshake(); // includes the first connect, answered at once
    const t0 = Date.now();
    const c2 = await w.request({channel: '/meta/connect', connectionType: 'websocket'}, TIMEOUT + 3000);
    const held = Date.now() - t0;
    assert.equal(c2.successful, true, JSON.stringify(c2));
    assert.ok(held >= TIMEOUT * 0.8 && held < TIMEOUT + 1500, `held ${held} ms for timeout ${TIMEOUT}`);
    assert.equal(c2.advice?.reconnect, 'retry');

    const [c3] = w.send({channel: '/meta/connect', connectionType: 'websocket'});
    await sleep(300);
    const t1 = Date.now();
    const [c4] = w.send({channel: '/meta/connect', connectionType: 'websocket'});
    const r3 = await w.inbox.waitFor((m) => m.id === c3.id, 2000, 'reply to the replaced connect');
    assert.ok(Date.now() - t1 < 1000, 'replaced connect must be answered promptly');
    assert.equal(r3.channel, '/meta/connect');
    assert.equal(r3.successful, true, `the replaced connect is answered, not failed: ${JSON.stringify(r3)}`);
    assert.equal(r3.advice?.reconnect, 'retry', JSON.stringify(r3));
    // "Replaces": the newer connect is now the held one, answered at the timeout, not at once.
    const r4 = await w.inbox.waitFor((m) => m.id === c4.id, TIMEOUT + 2000, 'reply to the newer connect');
    const held4 = Date.now() - t1;
    assert.equal(r4.successful, true);
    assert.ok(held4 >= TIMEOUT * 0.8 && held4 < TIMEOUT + 1500, `newer connect held ${held4} ms for timeout ${TIMEOUT}`);
    assert.equal(w.inbox.filter((m) => m.id === c3.id || m.id === c4.id).length, 2, 'one reply each');
  } finally {
    await w.close();
  }
});

t('a batch of 50 publishes in one frame arrives complete and in order', async () => {
  const a = await WsSession.open(gw);
  const b = await WsSession.open(gw);
  try {
    await a.handshake();
    await b.handshake();
    await a.subscribe('/ws/batch');
    const sent = b.send(Array.from({length: 50}, (_, i) => ({channel: '/ws/batch', data: {i}})));
    await b.inbox.waitForCount((m) => m.channel === '/ws/batch' && 'successful' in m, 50, 3000);
    assert.ok(b.inbox.filter((m) => m.channel === '/ws/batch' && 'successful' in m).every((m) => m.successful));
    const got = await a.waitDeliveries((m) => m.channel === '/ws/batch', 50, 3000);
    assert.deepEqual(got.map((m) => m.data.i), sent.map((m) => m.data.i));
    // Batched delivery: every frame is a JSON array.
    for (const f of a.frames) assert.ok(f.startsWith('['), `frame is not a JSON array: ${f.slice(0, 80)}`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

t('a 200 KB message with multi-byte characters survives fragmentation both ways', async () => {
  const a = await WsSession.open(gw);
  const b = await WsSession.open(gw);
  try {
    await a.handshake();
    await b.handshake();
    await a.subscribe('/ws/big');
    const text = 'aé€😀'.repeat(20000); // 200,000 UTF-8 bytes, characters of 1-4 bytes (under limits.max_message_size)
    const ack = await b.publish('/ws/big', {text});
    assert.equal(ack.successful, true, JSON.stringify(ack).slice(0, 300));
    const [m] = await a.waitDeliveries((x) => x.channel === '/ws/big', 1, 5000);
    assert.equal(m.data.text.length, text.length);
    assert.ok(m.data.text === text, 'payload corrupted');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

t('/meta/disconnect ends the session and is acknowledged', async () => {
  const c = makeCometD(gw.cometdUrl, {transport: 'websocket'});
  await handshake(c);
  const r = await disconnect(c);
  assert.equal(r?.successful, true, JSON.stringify(r));
  assert.equal(r.channel, '/meta/disconnect');
});
