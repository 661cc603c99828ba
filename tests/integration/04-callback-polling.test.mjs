// callback-polling: GET /cometd?jsonp=NAME&message=URLENCODED_JSON → NAME([...]) as text/javascript.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {gatewayForFile, testConfig, sleep, CLIENT_ID_RE} from './lib/gateway.mjs';
import {getJsonp, CookieJar, WsSession, reply, newId} from './lib/raw.mjs';

const TIMEOUT = 2000;
let gw;
const t = gatewayForFile({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})}, (g) => (gw = g));

// A callback-polling session spoken with GETs.
class JsonpSession {
  constructor() {
    this.jar = new CookieJar();
    this.clientId = null;
  }

  async send(msgs, callback) {
    const list = (Array.isArray(msgs) ? msgs : [msgs]).map((m) => ({id: newId(), ...(this.clientId ? {clientId: this.clientId} : {}), ...m}));
    const t0 = Date.now();
    const r = await getJsonp(gw, list, {jar: this.jar, callback});
    r.ms = Date.now() - t0;
    return r;
  }

  async handshake() {
    const r = await this.send({channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling']});
    const hs = reply(r.json ?? [], '/meta/handshake');
    assert.equal(hs?.successful, true, r.text);
    this.clientId = hs.clientId;
    return {r, hs};
  }

  connect() {
    return this.send({channel: '/meta/connect', connectionType: 'callback-polling'});
  }
}

t('handshake by GET answers NAME([...]) as text/javascript', async () => {
  const s = new JsonpSession();
  const r = await s.send({channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling', 'long-polling']}, 'myCallback_1');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(r.text, /^\s*(\/\*\*\/\s*)?myCallback_1\(\[/, `body: ${r.text.slice(0, 200)}`);
  assert.ok(Array.isArray(r.json), `payload must be a JSON array: ${r.text.slice(0, 300)}`);
  const hs = reply(r.json, '/meta/handshake');
  assert.equal(hs.successful, true);
  assert.deepEqual(hs.supportedConnectionTypes, ['long-polling', 'callback-polling']);
  assert.match(hs.clientId, CLIENT_ID_RE);
});

t('subscribe, held connect delivers a message published over websocket', async () => {
  const s = new JsonpSession();
  await s.handshake();
  const c1 = await s.connect();
  assert.equal(reply(c1.json ?? [], '/meta/connect')?.successful, true, c1.text);
  assert.ok(c1.ms < 1000, `first connect took ${c1.ms} ms`);
  const sub = await s.send({channel: '/meta/subscribe', subscription: '/jsonp/news'});
  assert.equal(reply(sub.json ?? [], '/meta/subscribe')?.successful, true, sub.text);

  const w = await WsSession.open(gw);
  try {
    await w.handshake();
    const held = s.connect();
    await sleep(300);
    const data = {headline: 'Ünïcödé → ok 😀', n: 3};
    assert.equal((await w.publish('/jsonp/news', data)).successful, true);
    const r = await held;
    assert.ok(r.ms < TIMEOUT, `held connect did not return early (${r.ms} ms)`);
    assert.ok(Array.isArray(r.json), r.text.slice(0, 300));
    const m = r.json.find((x) => x.channel === '/jsonp/news');
    assert.ok(m, `message missing: ${r.text.slice(0, 300)}`);
    assert.deepEqual(m.data, data);
    assert.equal(reply(r.json, '/meta/connect')?.successful, true);
  } finally {
    await w.close();
  }
});

t('held connect over GET times out after advice.timeout', async () => {
  const s = new JsonpSession();
  await s.handshake();
  await s.connect();
  const r = await s.connect();
  assert.equal(reply(r.json ?? [], '/meta/connect')?.successful, true, r.text);
  assert.ok(r.ms >= TIMEOUT * 0.8 && r.ms < TIMEOUT + 1500, `held ${r.ms} ms for timeout ${TIMEOUT}`);
});

t('publish by GET reaches a websocket subscriber', async () => {
  const s = new JsonpSession();
  await s.handshake();
  await s.connect();
  const w = await WsSession.open(gw);
  try {
    await w.handshake();
    await w.subscribe('/jsonp/up');
    const r = await s.send({channel: '/jsonp/up', data: {from: 'jsonp'}});
    assert.equal(r.json?.find((m) => m.channel === '/jsonp/up')?.successful, true, r.text);
    const [m] = await w.waitDeliveries((x) => x.channel === '/jsonp/up', 1, 3000);
    assert.deepEqual(m.data, {from: 'jsonp'});
  } finally {
    await w.close();
  }
});
