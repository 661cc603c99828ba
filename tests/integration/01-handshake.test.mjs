// Handshake and first-connect contract (docs/protocol.md "Transports", "Sessions and advice").
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {gatewayForFile, testConfig, CLIENT_ID_RE} from './lib/gateway.mjs';
import {postBayeux, HttpSession, WsSession, reply} from './lib/raw.mjs';
import {makeCometD, handshake, disconnect} from './lib/cometd-client.mjs';

const TIMEOUT = 2000;
const ALL = ['websocket', 'long-polling', 'callback-polling', 'http-streaming'];
let gw;
const t = gatewayForFile({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})}, (g) => (gw = g));

const hsMsg = (types, extra = {}) => ({id: 'h1', channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0', supportedConnectionTypes: types, ...extra});

function checkHandshakeReply(hs, types) {
  assert.equal(hs.channel, '/meta/handshake');
  assert.equal(hs.successful, true, JSON.stringify(hs));
  assert.equal(hs.version, '1.0');
  assert.match(hs.clientId, CLIENT_ID_RE, 'clientId: 24 URL-safe characters');
  assert.deepEqual(hs.supportedConnectionTypes, types);
  assert.equal(hs.advice?.reconnect, 'retry');
  assert.equal(hs.advice?.interval, 0);
  assert.equal(hs.advice?.timeout, TIMEOUT);
}

t('HTTP handshake offering every transport gets all four, advice from config', async () => {
  const r = await postBayeux(gw, [hsMsg(ALL)]);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  assert.ok(Array.isArray(r.json), `reply must be a JSON array: ${r.text}`);
  const hs = reply(r.json, '/meta/handshake');
  assert.equal(hs.id, 'h1', 'reply keeps the message id');
  checkHandshakeReply(hs, ALL);
});

t('supportedConnectionTypes is intersected with what the client offered', async () => {
  const r = await postBayeux(gw, [hsMsg(['long-polling', 'eventsource', 'in-process', 'callback-polling'])]);
  const hs = reply(r.json, '/meta/handshake');
  checkHandshakeReply(hs, ['long-polling', 'callback-polling']);
});

t('handshake offering no supported transport fails with 301', async () => {
  const r = await postBayeux(gw, [hsMsg(['eventsource', 'in-process'])]);
  assert.equal(r.status, 200);
  const hs = reply(r.json, '/meta/handshake');
  assert.equal(hs.successful, false, JSON.stringify(hs));
  assert.match(hs.error, /^301:[^:]*:unsupported connection types$/);
  assert.ok(hs.error.includes('eventsource'), `error names the offered types: ${hs.error}`);
  assert.equal(hs.clientId, undefined, 'no session for a failed handshake');
});

t('a single message object (not an array) is accepted, and /cometd/handshake is the same endpoint', async () => {
  const r1 = await postBayeux(gw, hsMsg(['long-polling']));
  assert.equal(r1.status, 200);
  checkHandshakeReply(reply(r1.json, '/meta/handshake'), ['long-polling']);
  const r2 = await postBayeux(gw, [hsMsg(['long-polling'])], {path: '/cometd/handshake'});
  assert.equal(r2.status, 200);
  checkHandshakeReply(reply(r2.json, '/meta/handshake'), ['long-polling']);
});

t('client ids are unique', async () => {
  const ids = await Promise.all(Array.from({length: 50}, () => postBayeux(gw, [hsMsg(['long-polling'])]).then((r) => reply(r.json, '/meta/handshake').clientId)));
  for (const id of ids) assert.match(id, CLIENT_ID_RE);
  assert.equal(new Set(ids).size, ids.length);
});

t('first /meta/connect after handshake is answered at once, the next one is held for advice.timeout', async () => {
  const s = new HttpSession(gw);
  await s.handshake();
  const c1 = await s.connect();
  assert.equal(c1.status, 200);
  assert.equal(c1.reply?.successful, true, c1.text);
  assert.equal(c1.reply.clientId, s.clientId);
  assert.ok(c1.reply.advice, 'connect replies carry advice');
  assert.ok(c1.ms < 1000, `first connect took ${c1.ms} ms`);
  const c2 = await s.connect();
  assert.equal(c2.reply?.successful, true, c2.text);
  assert.ok(c2.ms >= TIMEOUT * 0.8 && c2.ms < TIMEOUT + 1500, `held connect returned after ${c2.ms} ms, timeout ${TIMEOUT}`);
  assert.equal(c2.reply.advice?.reconnect, 'retry');
  assert.equal(await s.disconnect().then((d) => d?.successful), true);
});

t('handshake over websocket', async () => {
  const w = await WsSession.open(gw, {autoConnect: false});
  try {
    const hs = await w.request(hsMsg(['websocket', 'long-polling']));
    checkHandshakeReply(hs, ['websocket', 'long-polling']);
  } finally {
    await w.close();
  }
});

for (const transport of ['websocket', 'long-polling']) {
  t(`stock CometD client handshakes over ${transport}`, async () => {
    const c = makeCometD(gw.cometdUrl, {transport});
    try {
      const hs = await handshake(c);
      assert.equal(c.getTransport().type, transport);
      assert.match(c.getClientId(), CLIENT_ID_RE);
      assert.ok(hs.supportedConnectionTypes.includes(transport));
      assert.equal(c.isDisconnected(), false);
      assert.equal(c.connects.items[0]?.successful, true);
    } finally {
      await disconnect(c);
    }
  });
}
