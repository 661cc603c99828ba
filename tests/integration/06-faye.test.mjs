// Faye's Node client (faye 1.4.3) against the gateway, over websocket and long-polling,
// and interoperating with the stock CometD client.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {gatewayForFile, testConfig, sleep, CLIENT_ID_RE} from './lib/gateway.mjs';
import {Inbox} from './lib/raw.mjs';
import {makeCometD, handshake, subscribe, publish, disconnect} from './lib/cometd-client.mjs';

const require = createRequire(import.meta.url);
const faye = require('faye');

const TIMEOUT = 2000;
let gw;
const t = gatewayForFile({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})}, (g) => (gw = g));

// retry: 1 keeps a failed request's retry short, so a transient failure would otherwise pass
// unseen: every client records its handshakes, connects, failed meta replies and transport:down
// events, and assertHealthy() demands one handshake and no failure at all.
function fayeClient(transport) {
  const c = new faye.Client(gw.cometdUrl, {timeout: 10, retry: 1});
  c.record = {handshakes: 0, connects: 0, failures: [], downs: 0};
  c.addExtension({
    outgoing(m, cb) {
      if (m.channel === '/meta/handshake') c.record.handshakes++;
      if (m.channel === '/meta/connect') c.record.connects++;
      cb(m);
    },
    incoming(m, cb) {
      if (m.channel?.startsWith('/meta/') && m.successful === false) c.record.failures.push(m);
      cb(m);
    },
  });
  c.on('transport:down', () => c.record.downs++);
  // Faye always handshakes over long-polling, then picks the first usable transport the server
  // allows (websocket before long-polling). Disabling websocket pins it to long-polling.
  c.disable('in-process');
  if (transport === 'long-polling') c.disable('websocket');
  c.disable('autodisconnect');
  return c;
}

const connectionType = (c) => c._dispatcher.connectionType;

// One session from start to end: a single handshake, no failed meta reply, no transport failure.
function assertHealthy(...clients) {
  for (const c of clients) {
    const {handshakes, failures, downs} = c.record;
    assert.equal(handshakes, 1, `handshakes: ${handshakes}`);
    assert.deepEqual(failures, [], 'failed meta replies');
    assert.equal(downs, 0, 'transport:down events (failed requests retried)');
  }
}

async function waitTransport(c, transport) {
  for (let i = 0; i < 60 && connectionType(c) !== transport; i++) await sleep(50);
  assert.equal(connectionType(c), transport);
}

// Races p against a deadline, clearing the timer either way (no stray timers at exit).
function deadline(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no reply in ${ms} ms`)), ms);
    }),
  ]);
}

async function fayeSubscribe(c, channel, inbox) {
  const sub = c.subscribe(channel, (data) => inbox.push(data));
  await deadline(new Promise((resolve, reject) => {
    sub.then(() => resolve(), (e) => reject(new Error(`faye subscribe ${channel} failed: ${e?.message ?? JSON.stringify(e)}`)));
  }), 5000, `faye subscribe ${channel}`);
  return {sub}; // not `sub` itself: it is a thenable, an async function would unwrap it
}

function fayePublish(c, channel, data) {
  return deadline(new Promise((resolve, reject) => {
    c.publish(channel, data).then(() => resolve(), (e) => reject(new Error(`faye publish failed: ${e?.message ?? JSON.stringify(e)}`)));
  }), 5000, `faye publish ${channel}`);
}

// Waits for the disconnect reply: a client whose /meta/disconnect is still unanswered when the
// gateway stops retries it for ever and keeps the test process alive.
async function fayeDisconnect(...clients) {
  await Promise.all(clients.map((c) => {
    const p = c.disconnect();
    if (!p) return null; // was not connected
    return deadline(new Promise((resolve) => p.then(resolve, resolve)), 3000, 'faye disconnect').catch(() => null);
  }));
}

for (const transport of ['websocket', 'long-polling']) {
  t(`Faye clients publish and subscribe over ${transport}`, async () => {
    const a = fayeClient(transport);
    const b = fayeClient(transport);
    try {
      const got = new Inbox();
      const {sub} = await fayeSubscribe(a, `/faye/${transport}`, got);
      await waitTransport(a, transport);
      assert.match(a._dispatcher.clientId, CLIENT_ID_RE);
      for (let i = 0; i < 20; i++) await fayePublish(b, `/faye/${transport}`, {i, s: 'ü€'});
      await waitTransport(b, transport);
      const all = await got.waitForCount(() => true, 20, 5000);
      assert.deepEqual(all.map((d) => d.i), Array.from({length: 20}, (_, i) => i));
      assert.equal(all[0].s, 'ü€');
      sub.cancel();
      await sleep(300);
      await fayePublish(b, `/faye/${transport}`, {i: 99});
      await sleep(300);
      assert.equal(got.items.length, 20, 'no delivery after unsubscribe');
      assertHealthy(a, b);
    } finally {
      await fayeDisconnect(a, b);
    }
  });
}

t('Faye (long-polling) and CometD (websocket) talk to each other', async () => {
  const f = fayeClient('long-polling');
  const c = makeCometD(gw.cometdUrl, {transport: 'websocket'});
  try {
    await handshake(c);
    const toCometd = new Inbox();
    const toFaye = new Inbox();
    await subscribe(c, '/interop/to-cometd', (m) => toCometd.push(m));
    await fayeSubscribe(f, '/interop/to-faye', toFaye);
    await fayePublish(f, '/interop/to-cometd', {from: 'faye'});
    await publish(c, '/interop/to-faye', {from: 'cometd'});
    const m1 = await toCometd.waitFor(() => true, 3000);
    assert.deepEqual(m1.data, {from: 'faye'});
    const m2 = await toFaye.waitFor(() => true, 3000);
    assert.deepEqual(m2, {from: 'cometd'});
    assertHealthy(f);
  } finally {
    await fayeDisconnect(f);
    await disconnect(c);
  }
});

t('Faye client keeps its session and long-poll going across connect timeouts', async () => {
  const a = fayeClient('long-polling');
  const b = fayeClient('websocket');
  try {
    const got = new Inbox();
    await fayeSubscribe(a, '/faye/late', got);
    const clientId = a._dispatcher.clientId;
    assert.match(clientId, CLIENT_ID_RE);
    const connects = a.record.connects;
    await sleep(TIMEOUT * 1.5); // at least one held connect timed out and was renewed
    assert.ok(a.record.connects > connects, `connects renewed during the wait: ${connects} -> ${a.record.connects}`);
    await fayePublish(b, '/faye/late', 'late');
    assert.equal(await got.waitFor(() => true, 3000), 'late');
    // The same session throughout, not a re-handshake after a failed connect.
    assert.equal(a._dispatcher.clientId, clientId, 'clientId changed: the client handshook again');
    assertHealthy(a, b);
  } finally {
    await fayeDisconnect(a, b);
  }
});
