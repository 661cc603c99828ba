// Several long-polling sessions of one browser (same BAYEUX_BROWSER cookie): only one held
// connect; the others are answered at once with the multiple-clients advice.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {gatewayForFile, testConfig, sleep} from './lib/gateway.mjs';
import {HttpSession, CookieJar, WsSession, Inbox} from './lib/raw.mjs';
import {makeCometD, handshake, subscribe, disconnect} from './lib/cometd-client.mjs';

const TIMEOUT = 3000;
const MCI = 2000;
let gw;
const t = gatewayForFile({config: testConfig({bayeux: {timeout_ms: TIMEOUT, multiple_clients_interval_ms: MCI}})}, (g) => (gw = g));

t('the handshake sets a BAYEUX_BROWSER cookie', async () => {
  const s = new HttpSession(gw);
  await s.handshake();
  await s.connect();
  assert.ok(s.jar.get('BAYEUX_BROWSER'), `cookies: ${s.jar.header()}`);
  const other = new HttpSession(gw);
  await other.handshake();
  await other.connect();
  assert.notEqual(other.jar.get('BAYEUX_BROWSER'), s.jar.get('BAYEUX_BROWSER'), 'two browsers get two cookies');
});

t('a second session of the same browser gets the multiple-clients advice at once', async () => {
  const jar = new CookieJar();
  const a = new HttpSession(gw, {jar});
  await a.handshake();
  await a.connect();
  assert.ok(jar.get('BAYEUX_BROWSER'), 'no BAYEUX_BROWSER cookie');
  let aDone = false;
  const aHeld = a.connect().then((r) => {
    aDone = true;
    return r;
  });
  await sleep(200);

  const b = new HttpSession(gw, {jar});
  await b.handshake();
  await b.connect();
  const rb = await b.connect();
  assert.ok(rb.ms < 1000, `second browser session was held ${rb.ms} ms`);
  assert.equal(rb.reply?.successful, true, rb.text);
  assert.deepEqual(
    {reconnect: rb.reply.advice?.reconnect, interval: rb.reply.advice?.interval, mc: rb.reply.advice?.['multiple-clients']},
    {reconnect: 'retry', interval: MCI, mc: true},
  );
  assert.equal(aDone, false, 'the first session keeps its held connect');

  // Another browser (own cookie) is held normally.
  const c = new HttpSession(gw);
  await c.handshake();
  await c.connect();
  const rc = await c.connect();
  assert.ok(rc.ms >= TIMEOUT * 0.8, `other browser held only ${rc.ms} ms`);
  assert.equal(rc.reply.advice?.['multiple-clients'], undefined);

  const ra = await aHeld;
  assert.equal(ra.reply?.successful, true);
  assert.equal(ra.reply.advice?.['multiple-clients'], undefined);
});

t('websocket sessions are not limited by the browser cookie', async () => {
  const jar = new CookieJar();
  const a = new HttpSession(gw, {jar});
  await a.handshake();
  await a.connect();
  const held = a.connect();
  const w = await WsSession.open(gw, {autoConnect: false, wsOptions: {headers: {Cookie: jar.header()}}});
  try {
    await w.handshake();
    const t0 = Date.now();
    const r = await w.request({channel: '/meta/connect', connectionType: 'websocket'}, TIMEOUT + 2000);
    assert.ok(Date.now() - t0 >= TIMEOUT * 0.8, 'websocket connect should be held normally');
    assert.equal(r.advice?.['multiple-clients'], undefined);
  } finally {
    await w.close();
    await held;
  }
});

t('two stock CometD long-polling clients sharing a cookie jar both receive messages', async () => {
  const jar = new CookieJar();
  const c1 = makeCometD(gw.cometdUrl, {transport: 'long-polling', jar});
  const c2 = makeCometD(gw.cometdUrl, {transport: 'long-polling', jar});
  const pub = await WsSession.open(gw);
  try {
    await handshake(c1);
    await handshake(c2);
    const g1 = new Inbox();
    const g2 = new Inbox();
    await subscribe(c1, '/mc/x', (m) => g1.push(m));
    await subscribe(c2, '/mc/x', (m) => g2.push(m));
    // Wait until one of them has been told it is a multiple client.
    const mc = await Promise.race([
      c1.connects.waitFor((m) => m.advice?.['multiple-clients'] === true, MCI + TIMEOUT + 2000),
      c2.connects.waitFor((m) => m.advice?.['multiple-clients'] === true, MCI + TIMEOUT + 2000),
    ]);
    assert.equal(mc.advice.interval, MCI);
    await pub.handshake();
    await pub.publish('/mc/x', 'both');
    await g1.waitFor((m) => m.data === 'both', MCI + 3000);
    await g2.waitFor((m) => m.data === 'both', MCI + 3000);
  } finally {
    await Promise.all([disconnect(c1), disconnect(c2), pub.close()]);
  }
});

t('stock CometD long-polling clients with their own jars are distinct browsers', async () => {
  const c1 = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  const c2 = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  try {
    await handshake(c1);
    await handshake(c2);
    await sleep(1500); // both now hold a connect
    assert.notEqual(c1.jar.get('BAYEUX_BROWSER'), undefined);
    assert.notEqual(c1.jar.get('BAYEUX_BROWSER'), c2.jar.get('BAYEUX_BROWSER'));
    for (const c of [c1, c2]) {
      assert.equal(c.connects.filter((m) => m.advice?.['multiple-clients']).length, 0, 'cookie jars are shared between clients');
    }
  } finally {
    await Promise.all([disconnect(c1), disconnect(c2)]);
  }
});
