// MQTT (issue #3 parts 4, 5, 6) against a real mosquitto on a free port: wildcard routes, QoS 0/1,
// retained messages as ordinary updates, bad payloads counted; mosquitto killed and restarted → the
// gateway reconnects, resubscribes and later messages arrive; outbound publishes wait for the
// PUBACK, and fail with the broker down. Also: broker down when the gateway starts.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {startGateway, testConfig, withLog, sleep, REPO_ROOT, freePort} from './lib/gateway.mjs';
import {makeCometD, handshake, subscribe, publish, disconnect} from './lib/cometd-client.mjs';
import {Inbox} from './lib/raw.mjs';
import {startMosquitto, MqttClient, waitStats, connector} from './lib/brokers.mjs';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const validateItem = new Ajv2020({strict: false}).compile(
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/item-update.schema.json'), 'utf8')));

let broker, gw, client, pub;
const inbox = new Inbox();
const t = (name, fn) => test(name, withLog(() => gw, fn));
const transport = process.env.CG_TEST_TRANSPORT || 'long-polling';

function mqttConfig(uri, extra = {}) {
  return testConfig({
    mqtt: {uri, client_id: `cg-t24-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, qos: 1,
      reconnect_min_s: 1, reconnect_max_s: 2, publish_timeout_ms: 1500, ...extra},
    routes: [
      {name: 'temps', mqtt: 'sensors/+/+/temperature', channel: '/sensors/{2}/{3}', item: '{3}'},
      {name: 'status', mqtt: 'status/#', format: 'text', channel: '/status/{2}'},
      {name: 'raw', mqtt: 'raw/+', format: 'bytes', channel: '/raw/{2}'},
      {name: 'cmd', publish: '/commands/*', to_mqtt: 'commands/{2}', qos: 1},
    ],
  });
}

before(async () => {
  broker = await startMosquitto();
  pub = await MqttClient.connect(broker.port);
  // retained before the gateway exists: delivered when it subscribes
  await pub.publish('status/dev9', 'was here', {qos: 1, retain: true});
  // The retained message reaches the gateway once, when it subscribes to the broker: that must
  // come after the browser-side subscriptions exist, or it is dropped before anyone listens (a
  // race the test used to lose now and then). The broker is frozen while the gateway starts and
  // the client subscribes (the gateway's connect waits for its CONNACK), then resumed.
  broker.proc.kill('SIGSTOP');
  try {
    gw = await startGateway({config: mqttConfig(broker.uri)});
    client = makeCometD(gw.cometdUrl, {transport});
    await handshake(client);
    for (const ch of ['/sensors/**', '/status/*', '/raw/*']) await subscribe(client, ch, (m) => inbox.push(m));
    assert.notEqual(connector(await waitStats(gw, () => true), 'mqtt')?.state, 'up', 'precondition: not connected yet');
  } finally {
    broker.proc.kill('SIGCONT');
  }
  await waitStats(gw, (s) => connector(s, 'mqtt')?.state === 'up', 10000, 'mqtt up');
});

after(async () => {
  pub?.close();
  if (client) await disconnect(client);
  await gw?.stop();
  await broker?.cleanup();
});

t('wildcard routes map topic levels to channels; QoS 0 and 1; schema-valid updates', async () => {
  await sleep(300); // the subscription is made by the connected callback
  await pub.publish('sensors/paris/dev1/temperature', JSON.stringify({c: 21.5}), {qos: 0});
  await pub.publish('sensors/oslo/dev2/temperature', JSON.stringify({c: -3}), {qos: 1});
  await pub.publish('sensors/oslo/dev2/humidity', JSON.stringify({rh: 50}), {qos: 1});
  await pub.publish('status/dev1/extra', 'online', {qos: 1});
  await pub.publish('raw/x', Buffer.from([0, 255, 1]), {qos: 1});
  const a = await inbox.waitFor((m) => m.channel === '/sensors/paris/dev1', 5000);
  const b = await inbox.waitFor((m) => m.channel === '/sensors/oslo/dev2', 5000);
  const c = await inbox.waitFor((m) => m.channel === '/status/dev1', 5000);
  const d = await inbox.waitFor((m) => m.channel === '/raw/x', 5000);
  for (const m of [a, b, c, d]) assert.ok(validateItem(m.data), JSON.stringify(validateItem.errors));
  assert.deepEqual(a.data.fields, {c: 21.5});
  assert.equal(a.data.item, 'dev1');
  assert.equal(a.data.source.qos, 0);
  assert.equal(b.data.source.qos, 1);
  assert.equal(b.data.source.topic, 'sensors/oslo/dev2/temperature');
  assert.deepEqual(c.data.fields, {text: 'online'});
  assert.equal(c.data.item, 'status/dev1/extra', 'default item: the MQTT topic');
  assert.deepEqual(d.data.fields, {bytes: 'AP8B'});
  assert.equal(inbox.filter((m) => m.data?.source?.topic === 'sensors/oslo/dev2/humidity').length, 0);
});

t('a retained message is delivered as an ordinary update', async () => {
  const m = await inbox.waitFor((x) => x.channel === '/status/dev9', 5000);
  assert.equal(m.data.source.retain, true);
  assert.deepEqual(m.data.fields, {text: 'was here'});
});

t('bad payloads are skipped and counted; later messages still arrive', async () => {
  await pub.publish('sensors/x/bad/temperature', '{not json', {qos: 1});
  await pub.publish('status/bad', Buffer.from([0xc3, 0x28]), {qos: 1});
  await pub.publish('sensors/x/good/temperature', '{"c":1}', {qos: 1});
  await inbox.waitFor((m) => m.channel === '/sensors/x/good', 5000);
  const s = await waitStats(gw, (x) => connector(x, 'mqtt')?.routes?.temps?.bad_payload >= 1, 5000, 'counters');
  assert.equal(connector(s, 'mqtt').routes.status.bad_payload, 1);
  assert.match(gw.stderr(), /route temps: skipped message on sensors\/x\/bad\/temperature/);
});

t('outbound: the publish reply comes after the PUBACK and the message is on the MQTT topic', async () => {
  const got = new Inbox();
  pub.on('message', (topic, payload) => got.push({topic, payload: payload.toString()}));
  await pub.subscribe('commands/#', 1);
  // Freeze the broker: no PUBACK can come while it is stopped, so no reply may come either.
  // Resumed well within publish_timeout_ms (1500): then the PUBACK, then the reply.
  let replyAt = 0;
  broker.proc.kill('SIGSTOP');
  let resumedAt;
  try {
    const stamp = (x) => {
      replyAt = Date.now();
      return x;
    };
    const pending = publish(client, '/commands/dev7', {action: 'reboot'}, 5000).then(stamp, (e) => stamp({failed: e}));
    await sleep(700);
    assert.equal(replyAt, 0, 'publish answered while the broker (and so the PUBACK) was frozen');
    resumedAt = Date.now();
    broker.proc.kill('SIGCONT');
    const reply = await pending;
    assert.ok(!reply.failed, `publish failed: ${reply.failed?.message}`);
    assert.equal(reply.successful, true, JSON.stringify(reply));
    assert.ok(replyAt >= resumedAt, 'reply before the broker resumed');
  } finally {
    broker.proc.kill('SIGCONT');
  }
  const m = await got.waitFor((x) => x.topic === 'commands/dev7', 5000);
  assert.deepEqual(JSON.parse(m.payload), {action: 'reboot'});
});

t('mosquitto killed and restarted: the gateway reconnects, resubscribes, later messages arrive; publishes fail meanwhile', async () => {
  pub.close();
  await broker.stop();
  await waitStats(gw, (s) => connector(s, 'mqtt')?.state === 'connecting', 10000, 'connection lost');
  const t0 = Date.now();
  await assert.rejects(publish(client, '/commands/dev7', {action: 'x'}, 5000), (e) => {
    assert.equal(e.reply?.successful, false, e.message);
    assert.match(e.reply.error, /^503::mqtt/);
    return true;
  });
  assert.ok(Date.now() - t0 < 2500);
  const before = connector(await waitStats(gw, () => true), 'mqtt').connects;
  await broker.start();
  await waitStats(gw, (s) => connector(s, 'mqtt')?.connects > before, 15000, 'reconnected');
  await sleep(300);
  pub = await MqttClient.connect(broker.port);
  await pub.publish('sensors/rome/dev3/temperature', '{"c":30}', {qos: 1});
  const m = await inbox.waitFor((x) => x.channel === '/sensors/rome/dev3', 10000, 'a message after the restart');
  assert.deepEqual(m.data.fields, {c: 30});
  assert.ok(gw.running());
});

test('broker down at start: the gateway starts, serves clients, and connects when the broker appears (MQTT 5)', async () => {
  const port = await freePort();
  const g = await startGateway({config: mqttConfig(`tcp://127.0.0.1:${port}`, {version: '5'})});
  try {
    const c = makeCometD(g.cometdUrl, {transport});
    await handshake(c);
    const box = new Inbox();
    await subscribe(c, '/sensors/**', (m) => box.push(m));
    await sleep(1500);
    assert.equal(connector(await waitStats(g, () => true), 'mqtt').state, 'connecting');
    const b2 = await startMosquitto({port});
    try {
      await waitStats(g, (s) => connector(s, 'mqtt')?.state === 'up', 15000, 'connected later');
      await sleep(300);
      const p2 = await MqttClient.connect(port);
      await p2.publish('sensors/a/b/temperature', '{"c":2}', {qos: 1});
      const m = await box.waitFor((x) => x.channel === '/sensors/a/b', 5000);
      assert.deepEqual(m.data.fields, {c: 2});
      const r = await publish(c, '/commands/z', {v: 1});
      assert.equal(r.successful, true, 'MQTT 5 PUBACK');
      p2.close();
    } finally {
      await disconnect(c);
      await b2.cleanup();
    }
    await g.stop();
  } finally {
    await g.kill();
  }
});
