// http-streaming (cometgate's own): POST /meta/connect with connectionType "http-streaming" answers
// text/event-stream: ":ok" comment, one `data: [...]` event per batch, and a last event carrying
// the /meta/connect reply when the connect is done (docs/protocol.md "http-streaming").
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {gatewayForFile, testConfig, sleep, HOST} from './lib/gateway.mjs';
import {HttpSession, WsSession, Inbox, sseEvents, newId} from './lib/raw.mjs';

const TIMEOUT = 2000;
let gw;
const t = gatewayForFile({config: testConfig({bayeux: {timeout_ms: TIMEOUT}})}, (g) => (gw = g));

// Opens a streaming /meta/connect. Every SSE event goes to `events` (data parsed as JSON);
// `ended` resolves with the time the response ended.
async function openStream(s) {
  const t0 = Date.now();
  const msg = [{id: newId(), clientId: s.clientId, channel: '/meta/connect', connectionType: 'http-streaming'}];
  const res = await fetch(`http://${HOST}:${gw.port}/cometd`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', ...(s.jar.header() ? {Cookie: s.jar.header()} : {})},
    body: JSON.stringify(msg),
    signal: AbortSignal.timeout(TIMEOUT + 8000),
  });
  const events = new Inbox();
  const st = {res, events, t0, connectId: msg[0].id};
  st.ended = (async () => {
    for await (const ev of sseEvents(res.body)) {
      if (ev.data !== undefined) {
        let json;
        try {
          json = JSON.parse(ev.data);
        } catch {
          json = undefined;
        }
        events.push({...ev, json, at: Date.now() - t0});
      } else {
        events.push({...ev, at: Date.now() - t0});
      }
    }
    return Date.now() - t0;
  })();
  return st;
}

const dataEvents = (st) => st.events.filter((e) => e.data !== undefined);
const connectReplyOf = (e) => Array.isArray(e.json) ? e.json.find((m) => m.channel === '/meta/connect') : undefined;

async function streamingSession() {
  const s = new HttpSession(gw, {connectionType: 'http-streaming'});
  const hs = await s.handshake(['http-streaming']);
  assert.deepEqual(hs.supportedConnectionTypes, ['http-streaming']);
  return s;
}

t('the first streaming connect is answered at once as a one-event stream', async () => {
  const s = await streamingSession();
  const st = await openStream(s);
  assert.equal(st.res.status, 200);
  assert.match(st.res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const ms = await st.ended;
  assert.ok(ms < 1000, `first connect stream lasted ${ms} ms`);
  const evs = dataEvents(st);
  assert.equal(evs.length, 1, `events: ${JSON.stringify(st.events.items)}`);
  assert.equal(evs[0].lines, 1, 'each event is one JSON array on one line');
  assert.ok(Array.isArray(evs[0].json));
  assert.equal(connectReplyOf(evs[0])?.successful, true, evs[0].data);
  assert.equal(connectReplyOf(evs[0]).id, st.connectId);
});

t('a stream opens with :ok, carries one event per batch, ends with the connect reply at timeout', async () => {
  const s = await streamingSession();
  await (await openStream(s)).ended;
  assert.equal((await s.subscribe('/sse/ticks')).successful, true);
  const w = await WsSession.open(gw);
  try {
    await w.handshake();
    const st = await openStream(s);
    assert.equal(st.res.status, 200);
    assert.match(st.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const first = await st.events.waitFor(() => true, 2000, 'first SSE item');
    assert.equal(first.comment, 'ok', `stream must start with ":ok": ${JSON.stringify(first)}`);

    for (let i = 0; i < 3; i++) {
      assert.equal((await w.publish('/sse/ticks', {i})).successful, true);
      const ev = await st.events.waitFor((e) => Array.isArray(e.json) && e.json.some((m) => m.channel === '/sse/ticks' && m.data?.i === i), 1500, `event for message ${i}`);
      assert.equal(ev.lines, 1, 'one line per event');
      assert.ok(ev.at < TIMEOUT, 'message events must come while the connect is held');
      assert.equal(connectReplyOf(ev), undefined, 'the connect reply only comes in the last event');
    }
    const ms = await st.ended;
    assert.ok(ms >= TIMEOUT * 0.8 && ms < TIMEOUT + 1500, `stream lasted ${ms} ms, timeout ${TIMEOUT}`);
    const evs = dataEvents(st);
    const last = evs[evs.length - 1];
    assert.equal(connectReplyOf(last)?.successful, true, `last event: ${last?.data}`);
    assert.equal(connectReplyOf(last).id, st.connectId);
    const got = evs.flatMap((e) => e.json ?? []).filter((m) => m.channel === '/sse/ticks').map((m) => m.data.i);
    assert.deepEqual(got, [0, 1, 2]);
  } finally {
    await w.close();
  }
});

t('a 200 KB message of multi-byte characters crosses the stream intact', async () => {
  const s = await streamingSession();
  await (await openStream(s)).ended;
  await s.subscribe('/sse/big');
  const w = await WsSession.open(gw);
  try {
    await w.handshake();
    const st = await openStream(s);
    await st.events.waitFor((e) => e.comment !== undefined, 2000, ':ok');
    const text = '😀é€a'.repeat(20000);
    assert.equal((await w.publish('/sse/big', {text})).successful, true);
    const ev = await st.events.waitFor((e) => Array.isArray(e.json) && e.json.some((m) => m.channel === '/sse/big'), 5000, 'big event');
    const m = ev.json.find((x) => x.channel === '/sse/big');
    assert.ok(m.data.text === text, 'payload corrupted');
  } finally {
    await w.close();
  }
});

t('a newer connect ends the open stream with its connect reply', async () => {
  const s = await streamingSession();
  await (await openStream(s)).ended;
  const st1 = await openStream(s);
  await st1.events.waitFor(() => true, 2000, 'first SSE item');
  await sleep(200);
  const t1 = Date.now();
  const st2 = await openStream(s);
  await st1.ended;
  assert.ok(Date.now() - t1 < 1000, `replaced stream ended ${Date.now() - t1} ms after the new connect`);
  const evs = dataEvents(st1);
  assert.ok(evs.length >= 1);
  assert.equal(connectReplyOf(evs[evs.length - 1])?.id, st1.connectId);
  // The newer stream is the live one and ends normally at timeout.
  const ms = await st2.ended;
  assert.ok(ms >= TIMEOUT * 0.8, `second stream lasted ${ms} ms`);
  const ev2 = dataEvents(st2);
  assert.equal(connectReplyOf(ev2[ev2.length - 1])?.successful, true);
});

t('messages queued between streams come at once on the next stream', async () => {
  const s = await streamingSession();
  await (await openStream(s)).ended;
  await s.subscribe('/sse/queued');
  const w = await WsSession.open(gw);
  try {
    await w.handshake();
    for (let i = 0; i < 4; i++) await w.publish('/sse/queued', i);
    const st = await openStream(s);
    const evs = await st.events.waitForCount((e) => Array.isArray(e.json), 1, 1500, 'events');
    const got = [];
    await sleep(200);
    for (const e of dataEvents(st)) for (const m of e.json ?? []) if (m.channel === '/sse/queued') got.push(m.data);
    assert.ok(evs[0].at < 1000);
    assert.deepEqual(got, [0, 1, 2, 3]);
    await st.ended;
  } finally {
    await w.close();
  }
});
