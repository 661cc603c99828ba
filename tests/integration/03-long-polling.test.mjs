// Long-polling transport: stock CometD client and raw POSTs (docs/protocol.md "long-polling").
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {gatewayForFile, testConfig, sleep} from './lib/gateway.mjs';
import {HttpSession, WsSession, Inbox, postBayeux} from './lib/raw.mjs';
import {makeCometD, handshake, subscribe, unsubscribe, publish, disconnect} from './lib/cometd-client.mjs';

const TIMEOUT = 2000;
let gw;
const t = gatewayForFile({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})}, (g) => (gw = g));

t('stock CometD clients publish and subscribe over long-polling', async () => {
  const a = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  const b = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  try {
    await handshake(a);
    await handshake(b);
    assert.equal(a.getTransport().type, 'long-polling');
    assert.equal(b.getTransport().type, 'long-polling');
    const got = new Inbox();
    const sub = await subscribe(a, '/lp/chat', (m) => got.push(m));
    await publish(b, '/lp/chat', {text: 'hi', n: 7});
    const m = await got.waitFor(() => true, 3000);
    assert.equal(m.channel, '/lp/chat');
    assert.deepEqual(m.data, {text: 'hi', n: 7});
    await unsubscribe(a, sub);
    await publish(b, '/lp/chat', {text: 'after'});
    await sleep(300);
    assert.equal(got.items.length, 1);
  } finally {
    await Promise.all([disconnect(a), disconnect(b)]);
  }
});

t('100 messages arrive in order over long-polling, across several polls', async () => {
  const a = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  const b = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  try {
    await handshake(a);
    await handshake(b);
    const got = new Inbox();
    await subscribe(a, '/lp/order', (m) => got.push(m));
    for (let i = 0; i < 100; i++) {
      b.publish('/lp/order', {i});
      if (i % 25 === 24) await sleep(50);
    }
    const all = await got.waitForCount(() => true, 100, 8000);
    assert.deepEqual(all.map((m) => m.data.i), Array.from({length: 100}, (_, i) => i));
  } finally {
    await Promise.all([disconnect(a), disconnect(b)]);
  }
});

t('a 200 KB message of multi-byte characters arrives intact over long-polling', async () => {
  const a = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  const b = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  try {
    await handshake(a);
    await handshake(b);
    const got = new Inbox();
    await subscribe(a, '/lp/big', (m) => got.push(m));
    const text = 'é€😀a'.repeat(20000);
    await publish(b, '/lp/big', {text});
    const m = await got.waitFor(() => true, 5000);
    assert.ok(m.data.text === text, 'payload corrupted (UTF-8 split across reads?)');
  } finally {
    await Promise.all([disconnect(a), disconnect(b)]);
  }
});

t('a held connect returns with the queued messages followed by the connect reply', async () => {
  const s = new HttpSession(gw);
  const w = await WsSession.open(gw);
  try {
    await s.handshake();
    assert.equal((await s.connect()).reply?.successful, true);
    assert.equal((await s.subscribe('/lp/held')).successful, true);
    await w.handshake();
    const held = s.connect();
    await sleep(300);
    const t0 = Date.now();
    assert.equal((await w.publish('/lp/held', {k: 'v'})).successful, true);
    const r = await held;
    assert.ok(Date.now() - t0 < TIMEOUT / 2, `held connect answered ${Date.now() - t0} ms after the publish`);
    assert.equal(r.status, 200);
    assert.ok(r.all.length >= 2, r.text);
    const di = r.all.findIndex((m) => m.channel === '/lp/held');
    const ci = r.all.findIndex((m) => m.channel === '/meta/connect');
    assert.ok(di >= 0, `message missing: ${r.text}`);
    assert.ok(ci > di, `messages must come before the connect reply: ${r.text}`);
    assert.deepEqual(r.all[di].data, {k: 'v'});
    assert.equal(r.reply.successful, true);
  } finally {
    await w.close();
    await s.disconnect();
  }
});

t('messages queued between polls are delivered by the next connect at once', async () => {
  const s = new HttpSession(gw);
  const w = await WsSession.open(gw);
  try {
    await s.handshake();
    await s.connect();
    await s.subscribe('/lp/queued');
    await w.handshake();
    for (let i = 0; i < 5; i++) await w.publish('/lp/queued', i);
    const r = await s.connect();
    assert.ok(r.ms < 1000, `connect with queued messages took ${r.ms} ms`);
    assert.deepEqual(r.messages.map((m) => m.data), [0, 1, 2, 3, 4]);
  } finally {
    await w.close();
    await s.disconnect();
  }
});

t('a second connect for the same session replaces the held one', async () => {
  const s = new HttpSession(gw);
  await s.handshake();
  await s.connect();
  const first = s.connect();
  await sleep(300);
  const t0 = Date.now();
  const second = s.connect();
  const r1 = await first;
  assert.ok(Date.now() - t0 < 1000, `replaced connect answered after ${Date.now() - t0} ms`);
  assert.equal(r1.status, 200);
  assert.equal(r1.reply?.channel, '/meta/connect');
  const r2 = await second;
  assert.equal(r2.reply?.successful, true, r2.text);
  await s.disconnect();
});

t('publish, subscribe and connect in one request; replies as a JSON array', async () => {
  const s = new HttpSession(gw);
  await s.handshake();
  await s.connect();
  const r = await s.send([
    {channel: '/meta/subscribe', subscription: '/lp/combo'},
    {channel: '/lp/combo', data: 'self'},
    {channel: '/meta/connect', connectionType: 'long-polling'},
  ]);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  assert.ok(Array.isArray(r.json), r.text);
  assert.equal(r.json.find((m) => m.channel === '/meta/subscribe')?.successful, true, r.text);
  assert.equal(r.json.find((m) => m.channel === '/lp/combo' && 'successful' in m)?.successful, true, r.text);
  assert.equal(r.json.find((m) => m.channel === '/meta/connect')?.successful, true, r.text);
  assert.ok(r.json.some((m) => m.channel === '/lp/combo' && m.data === 'self'), `own message delivered: ${r.text}`);
  await s.disconnect();
});
