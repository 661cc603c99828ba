// Outbound routes to Kafka (issue #3 part 5): a browser publish on /chat/<room> is produced to the
// Kafka topic "chat" keyed by the room; the publish reply is successful only after the delivery
// report, and the message reaches subscribers by coming back through the inbound route. With every
// broker down the reply is successful:false within the configured timeout.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {startGateway, testConfig, withLog} from './lib/gateway.mjs';
import {makeCometD, handshake, subscribe, publish, disconnect} from './lib/cometd-client.mjs';
import {Inbox} from './lib/raw.mjs';
import {startKafkaMock, kafkaConsume, waitStats, connector} from './lib/brokers.mjs';

let mock, gw, a, b;
const inbox = new Inbox();
const t = (name, fn) => test(name, withLog(() => gw, fn));
const TIMEOUT = 1500;

before(async () => {
  mock = await startKafkaMock({topics: ['chat:2']});
  gw = await startGateway({config: testConfig({
    kafka: {bootstrap_servers: mock.bootstrap, group_id: `t23-${process.pid}`, start: 'earliest', metadata_refresh_ms: 300,
      produce_timeout_ms: TIMEOUT, client: {'reconnect.backoff.max.ms': '500'},
      consumer: {'fetch.wait.max.ms': '10'}, producer: {'linger.ms': '0'}},
    routes: [
      {name: 'chat-out', publish: '/chat/*', to_kafka: 'chat', key: '{2}'},
      {name: 'chat-in', kafka: 'chat', channel: '/chat/{key}'},
      {name: 'bad-out', publish: '/needs/*', to_kafka: 'chat', key: '{field.user}'},
    ],
  })});
  await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions === 2, 10000, 'assignment');
  a = makeCometD(gw.cometdUrl);
  b = makeCometD(gw.cometdUrl, {transport: 'long-polling'});
  await handshake(a);
  await handshake(b);
  await subscribe(b, '/chat/*', (m) => inbox.push(m));
});

after(async () => {
  for (const c of [a, b]) if (c) await disconnect(c);
  await gw?.stop();
  await mock?.stop();
});

t('a publish is produced to Kafka, acknowledged after the delivery report, and comes back to subscribers', async () => {
  const t0 = Date.now();
  const reply = await publish(a, '/chat/room1', {user: 'ann', text: 'hello'});
  assert.equal(reply.successful, true);
  const onKafka = await kafkaConsume(mock.bootstrap, 'chat', {count: 1, waitMs: 5000});
  assert.equal(onKafka.length, 1);
  assert.equal(onKafka[0].key, 'room1');
  assert.deepEqual(JSON.parse(onKafka[0].value), {user: 'ann', text: 'hello'});
  const back = await inbox.waitFor((m) => m.channel === '/chat/room1', 5000, 'the message back from Kafka');
  assert.equal(back.data.item, 'room1');
  assert.deepEqual(back.data.fields, {user: 'ann', text: 'hello'});
  assert.equal(back.data.source.topic, 'chat');
  assert.ok(Date.now() - t0 < 5000);
  const s = await waitStats(gw, () => true);
  assert.equal(connector(s, 'kafka').routes['chat-out'].delivered, 1);
});

t('a key template naming a missing payload field: successful:false with the reason, nothing produced', async () => {
  await assert.rejects(publish(a, '/needs/x', {other: 1}), (e) => {
    assert.equal(e.reply.successful, false);
    assert.match(e.reply.error, /^400::route bad-out: \{field\.user\}/);
    return true;
  });
});

t('with every broker down the reply is successful:false within the configured timeout', async () => {
  for (const id of [1, 2, 3]) await mock.command(`down ${id}`);
  try {
    const t0 = Date.now();
    await assert.rejects(publish(a, '/chat/room2', {text: 'lost?'}, TIMEOUT + 4000), (e) => {
      assert.ok(e.reply, e.message);
      assert.equal(e.reply.successful, false);
      // docs/protocol.md: 504 when the broker did not acknowledge in time (never 503 here). The
      // message text is librdkafka's ("Local: Message timed out"), not the docs' "broker timeout".
      assert.match(e.reply.error, /^504::.*timed out/i);
      return true;
    });
    const ms = Date.now() - t0;
    assert.ok(ms >= TIMEOUT - 200 && ms < TIMEOUT + 1500, `answered after ${ms} ms`);
    const s = await waitStats(gw, () => true);
    assert.equal(connector(s, 'kafka').routes['chat-out'].failed, 1, 'the one publish that timed out');
  } finally {
    for (const id of [1, 2, 3]) await mock.command(`up ${id}`);
  }
  // and it recovers once the brokers are back (the producer reconnects with backoff)
  const deadline = Date.now() + 20000;
  let ok = false;
  while (!ok && Date.now() < deadline) {
    ok = await publish(a, '/chat/room3', {text: 'back'}, 5000).then((r) => r.successful, () => false);
  }
  assert.ok(ok, 'a publish succeeds again after the brokers came back');
  await inbox.waitFor((m) => m.channel === '/chat/room3', 10000, 'the message back from Kafka');
});
