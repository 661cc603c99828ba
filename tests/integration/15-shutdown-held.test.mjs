// SIGTERM with 100 held long-polls (issue #8): every held /meta/connect gets a complete HTTP
// response carrying the shutdown reply before the process exits 0 within 2 s. 10-shutdown covers
// one held long-poll (as a todo) and WebSockets; this is the same promise under numbers.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {startGateway, testConfig, withLog, sleep} from './lib/gateway.mjs';
import {HttpSession} from './lib/raw.mjs';

const N = 100;
const SHUTDOWN_ERROR = '503::server shutting down'; // docs/protocol.md "Errors"

test(`SIGTERM with ${N} held long-polls: each answered with a complete JSON body (503::server shutting down, reconnect handshake); exit 0 within 2 s`, async () => {
  const gw = await startGateway({config: testConfig({bayeux: {timeout_ms: 20000}})});
  try {
    await withLog(gw, async () => {
      // Each session its own cookie jar (own BAYEUX_BROWSER): no multiple-clients answer.
      const sessions = Array.from({length: N}, () => new HttpSession(gw));
      await Promise.all(sessions.map(async (s) => {
        await s.handshake();
        const first = await s.connect();
        assert.equal(first.reply?.successful, true, `first connect: ${first.text}`);
      }));
      const held = sessions.map((s) => {
        const h = {done: false};
        h.result = s.connect({timeoutMs: 10000}).then((r) => ({r}), (e) => ({e})).finally(() => (h.done = true));
        return h;
      });
      await sleep(500);
      const early = held.filter((h) => h.done);
      assert.equal(early.length, 0, `precondition: all ${N} second connects held, ${early.length} answered early`);

      const stopped = gw.stop({timeoutMs: 2000}).then((x) => ({x}), (e) => ({e})); // exit 0, no sanitizer report
      const results = await Promise.all(held.map((h) => h.result));
      const {x, e: stopError} = await stopped;
      const bad = [];
      results.forEach(({r, e}, i) => {
        if (e) return bad.push(`${i}: ${e.message}${e.cause ? ` (${e.cause.message ?? e.cause.code})` : ''}`);
        const c = r.reply;
        if (r.status !== 200) return bad.push(`${i}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
        if (!c) return bad.push(`${i}: no /meta/connect reply in ${JSON.stringify(r.text.slice(0, 200))}`);
        if (c.successful !== false || c.error !== SHUTDOWN_ERROR || c.advice?.reconnect !== 'handshake') bad.push(`${i}: ${JSON.stringify(c)}`);
      });
      assert.equal(bad.length, 0, `${bad.length} of ${N} held long-polls without the shutdown reply; first: ${bad.slice(0, 3).join(' | ')}`);
      if (stopError) throw stopError;
      assert.ok(x.ms <= 2000, `exit took ${x.ms} ms`);
    })();
  } finally {
    await gw.kill();
  }
});
