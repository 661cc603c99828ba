// A bus message appears in the page: a real mosquitto on a free port, the gateway's MQTT
// connector routing sensors/+/+/temperature to /sensors/<site>/<device> ({N} = topic level N,
// connectors/route.h), the ticker page on
// /sensors/roof/* (long-polling), and mosquitto_pub as the publisher. Then the same from Kafka
// (librdkafka's mock cluster) to a page on http-streaming.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';
import {gatewayCommand, startGateway, toYaml, withLog} from '../integration/lib/gateway.mjs';
import {startKafkaMock, kafkaProduce, startMosquitto, waitStats, connector} from '../integration/lib/brokers.mjs';
import {assertNoPageErrors, cleanup, browserConfig, launchBrowser, openPage, privateTmp, screenshot, waitAttr,
  waitFor} from './lib/browser.mjs';

const run = promisify(execFile);

describe('bus message from MQTT in the page', () => {
  let broker;
  let gw;
  let tmp;
  let context;
  let page;
  let config;

  const pub = (topic, payload) =>
    run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-i', `cg-browser-pub-${process.pid}`,
      '-t', topic, '-m', typeof payload === 'string' ? payload : JSON.stringify(payload)], {timeout: 5000});

  before(async () => {
    tmp = privateTmp('bus');
    broker = await startMosquitto();
    config = browserConfig({
      demo: {enabled: false},
      mqtt: {uri: broker.uri, client_id: `cg-browser-${process.pid}`, version: '3.1.1', qos: 1, clean_session: true,
        keepalive_s: 30, reconnect_min_s: 1, reconnect_max_s: 2},
      routes: [{name: 'temperatures', mqtt: 'sensors/+/+/temperature', format: 'json', channel: '/sensors/{2}/{3}', item: '{3}'}],
    });
    gw = await startGateway({config});
    context = await launchBrowser(tmp);
  });

  after(async () => {
    await cleanup(() => context?.close(), () => gw?.stop(), () => broker?.cleanup(), () => tmp && fs.rmSync(tmp, {recursive: true, force: true}));
  });

  test('the gateway accepts the config (--check-config)', async () => {
    const file = path.join(tmp, 'bus.yaml');
    fs.writeFileSync(file, toYaml(config));
    const {stdout, stderr} = await run(gatewayCommand().cmd, ['--check-config', '-c', file], {timeout: 5000});
    assert.match(stdout + stderr, /ok/);
    assert.match(stdout, /sensors\/\+\/\+\/temperature/);
  });

  test('a message published to mosquitto shows up in the ticker table', withLog(() => gw, async () => {
    await waitStats(gw, (s) => connector(s, 'mqtt')?.state === 'up', 10000, 'MQTT connector up');
    page = await openPage(context, `${gw.baseUrl}/?channel=${encodeURIComponent('/sensors/roof/*')}&transport=long-polling`);
    await page.waitForSelector('#status[data-state=connected]');
    assert.equal((await page.textContent('#channel')).trim(), '/sensors/roof/*');
    await waitStats(gw, (s) => s.subscriptions >= 1, 5000, 'page subscribed');
    // The connector subscribes to the broker once connected: warm up until a message gets through.
    let tries = 0;
    await waitFor(async () => {
      await pub('sensors/roof/warmup/temperature', {celsius: 0, n: ++tries});
      await new Promise((r) => setTimeout(r, 300));
      return page.locator('tr[data-item=warmup]').count();
    }, {timeout: 10000, what: 'a first MQTT message through the gateway'});

    await pub('sensors/roof/dev-7/temperature', {celsius: 21.5, unit: '°C', note: '<i>ok</i>'});
    const row = page.locator('table#ticker tr[data-item="dev-7"]');
    await row.waitFor();
    assert.equal(await page.evaluate(() => window.cometgate.table.has('dev-7')), true);
    const cell = row.locator('td[data-field=celsius]');
    assert.equal(await cell.getAttribute('data-value'), '21.5');
    assert.equal((await cell.textContent()).trim(), '21.5');
    assert.equal(await row.locator('td[data-field=unit]').textContent(), '°C');
    assert.equal(await row.locator('td[data-field=note]').textContent(), '<i>ok</i>', 'payload HTML stays text');
    assert.equal(await row.locator('td[data-field=note] i').count(), 0);
    assert.equal((await row.locator('td[data-col=source]').textContent()).trim(), 'mqtt');

    // A second reading updates the same row and flashes the cell upwards.
    await pub('sensors/roof/dev-7/temperature', {celsius: 23.25, unit: '°C', note: '<i>ok</i>'});
    await waitAttr(page, 'tr[data-item="dev-7"] td[data-field=celsius]', 'data-value', (v) => v === '23.25',
      {what: 'second reading'});
    assert.match(await cell.getAttribute('class'), /\bflash-up\b/);
    assert.equal(await row.getAttribute('data-updates'), '2');
    assert.equal(await page.locator('table#ticker tr[data-item]').count(), 2, 'warmup and dev-7');
    // A topic outside the route does not reach the page.
    await pub('other/roof/dev-8/temperature', {celsius: 1});
    await pub('sensors/roof/dev-9/humidity', {percent: 40});
    await pub('sensors/attic/dev-10/temperature', {celsius: 30}); // routed, to /sensors/attic/dev-10
    await page.waitForTimeout(500);
    assert.equal(await page.locator('table#ticker tr[data-item]').count(), 2);

    const s = await waitStats(gw, (x) => connector(x, 'mqtt')?.routes?.temperatures?.delivered >= 4, 5000,
      'connector counters');
    assert.equal(connector(s, 'mqtt').state, 'up');
    await page.waitForTimeout(150);
    await screenshot(page, 'bus-mqtt-ticker');
    assertNoPageErrors(page);
  }));

  test('the dashboard lists the MQTT connector as up', withLog(() => gw, async () => {
    const dash = await openPage(context, `${gw.baseUrl}/dashboard.html?interval=300`);
    await dash.waitForSelector('table#connectors tr[data-connector=mqtt][data-state=up]');
    assert.equal((await dash.textContent('tr[data-connector=mqtt] td[data-field=state]')).trim(), 'up');
    await waitAttr(dash, '#sessions-long-polling', 'data-value', (v) => +v === 1, {what: 'the ticker page session'});
    await waitAttr(dash, '#rate-in', 'data-value', (v) => v !== '', {what: 'a first rate'});
    await screenshot(dash, 'bus-mqtt-dashboard');
    assertNoPageErrors(dash, page);
  }));
});

// The same from Kafka: librdkafka's mock cluster (tests/tools/cg-kafka-mock), a keyed JSON
// message produced to topic prices shows up on /prices/<key> in a page on http-streaming.
describe('bus message from Kafka in the page', () => {
  let mock;
  let gw;
  let tmp;
  let context;

  before(async () => {
    tmp = privateTmp('kafka');
    mock = await startKafkaMock({brokers: 1, topics: ['prices:2']});
    gw = await startGateway({config: browserConfig({
      demo: {enabled: false},
      kafka: {bootstrap_servers: mock.bootstrap, group_id: `cg-browser-${process.pid}`, start: 'latest',
        metadata_refresh_ms: 500, consumer: {'fetch.wait.max.ms': '10'}},
      routes: [{name: 'prices', kafka: 'prices', format: 'json', channel: '/prices/{key}',
        fields: {last: 'price.last', bid: 'price.bid', ask: 'price.ask'}}],
    })});
    context = await launchBrowser(tmp);
  });

  after(async () => {
    await cleanup(() => context?.close(), () => gw?.stop(), () => mock?.stop(), () => tmp && fs.rmSync(tmp, {recursive: true, force: true}));
  });

  test('a message produced to the mock cluster shows up in the ticker table', withLog(() => gw, async () => {
    await waitStats(gw, (s) => connector(s, 'kafka')?.assigned_partitions >= 2, 15000, 'partitions assigned');
    const page = await openPage(context, `${gw.baseUrl}/?channel=${encodeURIComponent('/prices/*')}&transport=http-streaming`);
    await page.waitForSelector('#status[data-state=connected]');
    await waitStats(gw, (s) => s.subscriptions >= 1, 5000, 'page subscribed');
    const price = (last) => ({price: {last, bid: last - 0.5, ask: last + 0.5}, ignored: 'not projected'});
    let r = await kafkaProduce(mock.bootstrap, [{topic: 'prices', key: 'EURUSD', value: price(1.0825)},
      {topic: 'prices', key: 'Ünïcode€', value: price(42)}]);
    assert.equal(r.delivered, 2);
    const row = page.locator('table#ticker tr[data-item="EURUSD"]');
    await row.waitFor();
    assert.equal(await row.locator('td[data-field=last]').getAttribute('data-value'), '1.0825');
    assert.equal(await row.locator('td[data-field=bid]').getAttribute('data-value'), '0.5825');
    assert.equal(await row.locator('td[data-field=ask]').getAttribute('data-value'), '1.5825');
    assert.equal(await row.locator('td[data-field=ignored]').count(), 0, 'only the projected fields');
    assert.equal((await row.locator('td[data-col=source]').textContent()).trim(), 'kafka');
    // A key that is no valid channel segment is percent-encoded into one; the item keeps it.
    await page.locator('table#ticker tr[data-item="Ünïcode€"]').waitFor();

    r = await kafkaProduce(mock.bootstrap, [{topic: 'prices', key: 'EURUSD', value: price(1.0801)}]);
    assert.equal(r.delivered, 1);
    await waitAttr(page, 'tr[data-item="EURUSD"] td[data-field=last]', 'data-value', (v) => v === '1.0801',
      {what: 'second price'});
    assert.match(await row.locator('td[data-field=last]').getAttribute('class'), /\bflash-down\b/);
    await page.waitForTimeout(150);
    await screenshot(page, 'bus-kafka-ticker');
    assertNoPageErrors(page);
  }));
});
