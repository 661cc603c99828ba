// cometgate browser client: the stock CometD 9 JavaScript client plus
//  - HttpStreamingTransport: cometgate's "http-streaming" transport (docs/protocol.md);
//  - createClient(): a small wrapper with connection-state events, persistent
//    subscriptions (re-subscribed after every re-handshake) and live item tables.
//
// No build step: the gateway serves web/ as static files, and CometD comes from
// web/node_modules (installed by `npm ci --prefix web`, not committed). The relative
// import below resolves the same way in a browser (/node_modules/cometd/cometd.js
// next to /cometgate.js) and in Node (web/node_modules/cometd/cometd.js).
//
// In Node, call cometd-nodejs-client's adapt() first and pass a CometD instance:
//   import {adapt} from "cometd-nodejs-client"; adapt();
//   import {CometD} from "cometd";
//   const client = createClient({url: "http://127.0.0.1:8080/cometd", cometd: new CometD()});

import {CometD, LongPollingTransport} from "./node_modules/cometd/cometd.js";

export const TRANSPORT_TYPES = Object.freeze(["websocket", "long-polling", "callback-polling", "http-streaming"]);

// ---------------------------------------------------------------------------
// Server-Sent-Events framing (just what cometgate emits: comments and data lines).
// ---------------------------------------------------------------------------

/**
 * Incremental SSE parser. push() text as it arrives (already decoded); it returns the
 * complete events found so far, each as {data, event, id}. Comment lines (":ok") are
 * skipped. Handles \n, \r\n and \r line ends and events split across chunks.
 */
export class SseParser {
    #buffer = "";
    #data = [];
    #event = "";
    #id = "";
    #sawCR = false;

    push(text) {
        const events = [];
        let buf = this.#buffer + text;
        let start = 0;
        for (let i = 0; i < buf.length; ++i) {
            const c = buf.charCodeAt(i);
            if (c === 10 && this.#sawCR && i === start) {
                // "\n" of a "\r\n" pair split or not: the line already ended at the "\r".
                this.#sawCR = false;
                start = i + 1;
                continue;
            }
            if (c === 10 || c === 13) {
                this.#sawCR = c === 13;
                this.#line(buf.substring(start, i), events);
                start = i + 1;
            } else {
                this.#sawCR = false;
            }
        }
        this.#buffer = buf.substring(start);
        return events;
    }

    #line(line, events) {
        if (line.length === 0) {
            if (this.#data.length > 0) {
                events.push({data: this.#data.join("\n"), event: this.#event || "message", id: this.#id});
            }
            this.#data = [];
            this.#event = "";
            return;
        }
        if (line.charCodeAt(0) === 58) { // ':' comment, e.g. ":ok"
            return;
        }
        const colon = line.indexOf(":");
        let field = line, value = "";
        if (colon >= 0) {
            field = line.substring(0, colon);
            value = line.substring(colon + 1);
            if (value.charCodeAt(0) === 32) {
                value = value.substring(1);
            }
        }
        if (field === "data") {
            this.#data.push(value);
        } else if (field === "event") {
            this.#event = value;
        } else if (field === "id") {
            this.#id = value;
        }
    }

    /** Text received after the last complete line (non-empty means a truncated stream). */
    get pending() {
        return this.#buffer + (this.#data.length > 0 ? "\n" + this.#data.join("\n") : "");
    }
}

// ---------------------------------------------------------------------------
// http-streaming transport
// ---------------------------------------------------------------------------

/**
 * cometgate's http-streaming transport. Everything but /meta/connect travels exactly as
 * long-polling (inherited). A /meta/connect is POSTed with fetch(); the reply is a
 * text/event-stream whose events are JSON arrays of messages: each one is handed to CometD
 * as soon as it is read, and the event holding the /meta/connect reply completes the
 * request, so CometD then sends the next connect as with long-polling. A stream that fails
 * or ends without the connect reply fails the request: CometD's usual retry/backoff and
 * handshake advice apply.
 *
 * The in-flight stream is exposed to RequestTransport through an XHR-like object
 * ({readyState, status, abort()}), so its timeout and abort paths work unchanged.
 */
export class HttpStreamingTransport extends LongPollingTransport {
    #fetch;

    /**
     * @param options.fetch a fetch implementation (default: globalThis.fetch)
     * @param options.lingerMs how long to keep reading a stream after the /meta/connect reply
     *        before cutting it (the server should end it at once)
     */
    constructor(options = {}) {
        super();
        this.#fetch = options.fetch || null;
        this.lingerMs = options.lingerMs ?? 2000;
    }

    #fetchFn() {
        const f = this.#fetch || (typeof globalThis.fetch === "function" ? globalThis.fetch.bind(globalThis) : null);
        return f;
    }

    accept(version, crossDomain, url) {
        return this.#fetchFn() !== null && typeof TextDecoder === "function" && super.accept(version, crossDomain, url);
    }

    transportSend(envelope, request) {
        if (!request.metaConnect) {
            return super.transportSend(envelope, request);
        }
        this.debug("Transport", this.type, "streaming /meta/connect, request", request.id, "envelope", envelope);
        let body;
        try {
            body = this.convertToJSON(envelope.messages);
        } catch (x) {
            this.setTimeout(() => this.transportFailure(envelope, request, {exception: x}), 0);
            return false;
        }
        this.#stream(envelope, request, body);
        return true;
    }

    #stream(envelope, request, body) {
        const controller = typeof AbortController === "function" ? new AbortController() : null;
        let finished = false; // the request has been completed (success or failure)
        let lingerTimer = null;
        const conduit = {
            // XHR look-alike for RequestTransport.abortXHR()/xhrStatus().
            readyState: 1,
            status: 0,
            statusText: "",
            streaming: true,
            abort: () => {
                if (controller) {
                    controller.abort();
                }
                // Like XHR.abort(): fail synchronously, so RequestTransport.abort() sees
                // the request fail before it resets (RequestTransport ignores it if expired).
                fail({reason: "abort"});
            }
        };
        request.xhr = conduit;

        const fail = (failure) => {
            if (lingerTimer !== null) {
                clearTimeout(lingerTimer);
                lingerTimer = null;
            }
            if (finished) {
                return;
            }
            finished = true;
            conduit.readyState = 4;
            if (failure.httpCode === undefined) {
                failure.httpCode = conduit.status;
            }
            this.debug("Transport", this.type, "stream failed", request.id, failure);
            this.transportFailure(envelope, request, failure);
        };

        const dispatch = (messages) => {
            if (!Array.isArray(messages)) {
                messages = messages === null || messages === undefined ? [] : [messages];
            }
            if (messages.length === 0) {
                return;
            }
            if (finished) {
                // After the connect reply (server should have ended the stream): still deliver.
                envelope.onSuccess(messages);
                return;
            }
            const isConnectReply = messages.some((m) => m && m.channel === "/meta/connect");
            if (isConnectReply) {
                finished = true;
                conduit.readyState = 4;
                this.transportSuccess(envelope, request, messages);
                // The server ends the response right after; do not hold a connection if not.
                if (this.lingerMs >= 0) {
                    lingerTimer = setTimeout(() => {
                        lingerTimer = null;
                        if (controller) {
                            controller.abort();
                        }
                    }, this.lingerMs);
                }
            } else if (!request.expired) {
                // Messages delivered while the connect is held: same path as a response.
                envelope.onSuccess(messages);
            }
        };

        const headers = {"Content-Type": "application/json", "Accept": "text/event-stream"};
        const extra = this.configuration.requestHeaders;
        if (extra) {
            for (const name in extra) {
                if (Object.prototype.hasOwnProperty.call(extra, name)) {
                    headers[name] = extra[name];
                }
            }
        }

        const run = async () => {
            const response = await this.#fetchFn()(envelope.url, {
                method: "POST",
                headers: headers,
                body: body,
                credentials: "include",
                cache: "no-store",
                signal: controller ? controller.signal : undefined
            });
            conduit.status = response.status;
            conduit.statusText = response.statusText;
            conduit.readyState = 3;
            if (response.status !== 200) {
                fail({reason: response.statusText || ("HTTP " + response.status)});
                try {
                    await response.body?.cancel();
                } catch (x) {
                    // ignore
                }
                return;
            }
            const contentType = (response.headers.get("Content-Type") || "").toLowerCase();
            if (!contentType.startsWith("text/event-stream") || !response.body || !response.body.getReader) {
                // A plain JSON reply (as long-polling): accept it as the whole answer.
                const text = await response.text();
                if (finished) {
                    return;
                }
                let messages;
                try {
                    messages = this.convertToMessages(text);
                } catch (x) {
                    fail({exception: x});
                    return;
                }
                if (!Array.isArray(messages) || messages.length === 0) {
                    fail({httpCode: 204});
                } else if (messages.some((m) => m && m.channel === "/meta/connect")) {
                    dispatch(messages);
                } else {
                    envelope.onSuccess(messages);
                    fail({reason: "response without /meta/connect reply"});
                }
                return;
            }
            const reader = response.body.getReader();
            const decoder = new TextDecoder("utf-8");
            const parser = new SseParser();
            const handleText = (text) => {
                for (const event of parser.push(text)) {
                    if (request.expired) {
                        return;
                    }
                    let messages;
                    try {
                        messages = JSON.parse(event.data);
                    } catch (x) {
                        this.debug("Transport", this.type, "bad event data", event.data);
                        fail({exception: x, reason: "invalid JSON in event stream"});
                        if (controller) {
                            controller.abort();
                        }
                        return;
                    }
                    dispatch(messages);
                }
            };
            for (;;) {
                const {done, value} = await reader.read();
                if (done) {
                    break;
                }
                handleText(decoder.decode(value, {stream: true}));
                if (request.expired && !finished) {
                    break;
                }
            }
            handleText(decoder.decode());
            handleText("\n\n"); // a last event not followed by a blank line
            if (lingerTimer !== null) {
                clearTimeout(lingerTimer);
                lingerTimer = null;
            }
            conduit.readyState = 4;
            if (!finished) {
                fail({reason: "stream ended without /meta/connect reply"});
            }
        };

        run().catch((x) => {
            if (!finished) {
                fail({exception: x, reason: x && x.name === "AbortError" ? "abort" : String(x && x.message || x)});
            }
        });
    }

    abortXHR(xhr) {
        if (xhr && xhr.streaming) {
            const state = xhr.readyState;
            xhr.abort();
            return state !== 0 && state !== 4;
        }
        return super.abortXHR(xhr);
    }

    xhrStatus(xhr) {
        if (xhr && xhr.streaming) {
            return xhr.status;
        }
        return super.xhrStatus(xhr);
    }
}

// ---------------------------------------------------------------------------
// Client wrapper
// ---------------------------------------------------------------------------

function defaultURL() {
    if (typeof location !== "undefined" && location.href && /^https?:/.test(location.protocol)) {
        return new URL("/cometd", location.href).href;
    }
    return null;
}

function normalizeTransports(transports) {
    if (transports === undefined || transports === null || transports === "" || transports === "auto") {
        return null;
    }
    const list = (Array.isArray(transports) ? transports : String(transports).split(","))
        .map((t) => String(t).trim()).filter((t) => t.length > 0 && t !== "auto");
    for (const t of list) {
        if (!TRANSPORT_TYPES.includes(t)) {
            throw new Error("Unknown transport " + t + " (known: " + TRANSPORT_TYPES.join(", ") + ")");
        }
    }
    return list.length > 0 ? list : null;
}

function makeEvent(type, detail) {
    if (typeof CustomEvent === "function") {
        return new CustomEvent(type, {detail});
    }
    const e = new Event(type);
    e.detail = detail;
    return e;
}

function failureReason(message) {
    if (!message) {
        return "";
    }
    if (message.error) {
        return String(message.error);
    }
    const f = message.failure;
    if (f) {
        if (f.websocketCode !== undefined) {
            return "WebSocket closed (" + f.websocketCode + (f.reason ? " " + f.reason : "") + ")";
        }
        if (f.httpCode === 0 || f.httpCode === -1) {
            return "no response" + (f.reason && f.reason !== "abort" ? " (" + f.reason + ")" : "");
        }
        if (f.reason) {
            return String(f.reason) + (f.httpCode > 0 ? " (HTTP " + f.httpCode + ")" : "");
        }
        if (f.exception) {
            return String(f.exception && f.exception.message || f.exception);
        }
        if (f.httpCode !== undefined && f.httpCode !== null) {
            return "HTTP " + f.httpCode;
        }
    }
    return "";
}

/**
 * A CometD client for cometgate. Events (EventTarget, detail in event.detail):
 *  - 'state'     {state, previous, transport, clientId, reason}: state is one of
 *                "connecting" (before the first connect), "connected", "reconnecting",
 *                "disconnected".
 *  - 'handshake' {successful, reestablish, clientId, transport}
 *  - 'message'   {channel, data, message} for every message delivered to a subscription made
 *                through this wrapper.
 */
export class CometGateClient extends EventTarget {
    #subs = new Set();
    #handshaken = false;
    #state = "disconnected";
    #reason = "";
    #listeners = [];
    #connectWaiters = [];

    constructor(options = {}) {
        super();
        this.url = options.url || defaultURL();
        if (!this.url) {
            throw new Error("createClient: missing url (outside a browser pass {url})");
        }
        this.cometd = options.cometd || new CometD(options.name);
        this.configuration = Object.assign({logLevel: options.logLevel || "warn"}, options.configuration || {});
        this.handshakeProps = options.handshakeProps;
        this.counters = {messages: 0, handshakes: 0, connects: 0, failures: 0};

        const cometd = this.cometd;
        if (!cometd.findTransport("http-streaming")) {
            cometd.registerTransport("http-streaming", new HttpStreamingTransport({fetch: options.fetch}));
        }
        const wanted = normalizeTransports(options.transports ?? options.transport);
        if (wanted) {
            // Keep only the wanted transports, in the given order (first = preferred).
            const kept = {};
            for (const type of cometd.getTransportTypes()) {
                kept[type] = cometd.unregisterTransport(type);
            }
            for (const type of wanted) {
                if (kept[type]) {
                    cometd.registerTransport(type, kept[type]);
                }
            }
            if (cometd.getTransportTypes().length === 0) {
                throw new Error("None of the transports " + wanted.join(", ") + " is available here");
            }
        }
        this.transports = cometd.getTransportTypes();

        this.#listen("/meta/handshake", (m) => this.#onHandshake(m));
        this.#listen("/meta/connect", (m) => this.#onConnect(m));
        this.#listen("/meta/disconnect", (m) => {
            this.#handshaken = false;
            this.#setState("disconnected", failureReason(m));
        });
    }

    #listen(channel, fn) {
        this.#listeners.push(this.cometd.addListener(channel, fn));
    }

    /** "connecting" | "connected" | "reconnecting" | "disconnected" */
    get state() {
        return this.#state;
    }

    /** Type of the transport in use ("websocket", "long-polling", ...) or null. */
    get transport() {
        const t = this.cometd.getTransport();
        return t ? t.type : null;
    }

    get clientId() {
        return this.cometd.getClientId();
    }

    get lastReason() {
        return this.#reason;
    }

    #setState(state, reason) {
        const previous = this.#state;
        const transport = this.transport;
        const changed = previous !== state || (state === "connected" && transport !== this._lastTransport);
        this.#state = state;
        this.#reason = reason || "";
        this._lastTransport = transport;
        if (state === "connected") {
            const waiters = this.#connectWaiters;
            this.#connectWaiters = [];
            waiters.forEach((w) => w.resolve(this));
        } else if (state === "disconnected") {
            const waiters = this.#connectWaiters;
            this.#connectWaiters = [];
            waiters.forEach((w) => w.reject(new Error("disconnected" + (reason ? ": " + reason : ""))));
        }
        if (changed) {
            this.dispatchEvent(makeEvent("state", {
                state, previous, transport, clientId: this.clientId, reason: this.#reason
            }));
        }
    }

    #onHandshake(message) {
        this.dispatchEvent(makeEvent("handshake", {
            successful: !!message.successful,
            reestablish: !!message.reestablish,
            clientId: message.clientId,
            transport: this.transport
        }));
        if (message.successful) {
            this.counters.handshakes++;
            this.#handshaken = true;
            // CometD dropped all subscriptions when it (re-)handshook: subscribe again,
            // in one batch. The connect follows the handshake, so state stays as it is.
            if (this.#subs.size > 0) {
                this.cometd.batch(() => {
                    for (const sub of this.#subs) {
                        this.#doSubscribe(sub);
                    }
                });
            }
        } else {
            this.#handshaken = false;
            this.counters.failures++;
            this.#setState(this.cometd.isDisconnected() ? "disconnected" : "reconnecting", failureReason(message));
        }
    }

    #onConnect(message) {
        if (this.cometd.isDisconnected()) {
            this.#setState("disconnected", failureReason(message));
        } else if (message.successful) {
            this.counters.connects++;
            this.#setState("connected", "");
        } else {
            this.counters.failures++;
            this.#setState("reconnecting", failureReason(message));
        }
    }

    /**
     * Configures and handshakes. Resolves when connected the first time (rejects if the
     * client ends up disconnected first, e.g. handshake denied with reconnect:none).
     */
    connect() {
        const p = new Promise((resolve, reject) => this.#connectWaiters.push({resolve, reject}));
        if (this.cometd.isDisconnected()) {
            this.cometd.configure(Object.assign({}, this.configuration, {url: this.url}));
            this.#setState("connecting", "");
            this.cometd.handshake(this.handshakeProps);
        } else if (this.#state === "connected") {
            this.#setState("connected", "");
        }
        return p;
    }

    /** Sends /meta/disconnect; resolves with the reply (or a local failure). */
    disconnect() {
        return new Promise((resolve) => {
            if (this.cometd.isDisconnected()) {
                this.#setState("disconnected", "");
                resolve({successful: true});
                return;
            }
            this.cometd.disconnect((reply) => {
                this.#handshaken = false;
                this.#setState("disconnected", "");
                resolve(reply);
            });
        });
    }

    #doSubscribe(sub) {
        sub.handle = this.cometd.subscribe(sub.channel, (message) => {
            this.counters.messages++;
            this.dispatchEvent(makeEvent("message", {channel: message.channel, data: message.data, message}));
            try {
                sub.onMessage(message);
            } catch (x) {
                if (typeof console !== "undefined") {
                    console.error("cometgate: subscriber threw", x);
                }
            }
        }, (reply) => {
            sub.lastReply = reply;
            if (sub.onSubscribed) {
                sub.onSubscribed(reply);
            }
        });
    }

    /**
     * Subscribes for as long as this client lives: after a re-handshake (server restart,
     * session swept) the subscription is sent again. onMessage(message) gets the whole
     * Bayeux message. Returns {channel, unsubscribe(), ready: Promise<subscribe reply>}.
     */
    subscribe(channel, onMessage, onSubscribed) {
        const sub = {channel, onMessage, onSubscribed: null, handle: null, lastReply: null};
        const ready = new Promise((resolve) => {
            sub.onSubscribed = (reply) => {
                resolve(reply);
                if (onSubscribed) {
                    onSubscribed(reply);
                }
            };
        });
        this.#subs.add(sub);
        if (this.#handshaken && !this.cometd.isDisconnected()) {
            this.#doSubscribe(sub);
        }
        return {
            channel,
            ready,
            unsubscribe: () => {
                this.#subs.delete(sub);
                if (sub.handle && !this.cometd.isDisconnected()) {
                    this.cometd.unsubscribe(sub.handle);
                }
                sub.handle = null;
            }
        };
    }

    /**
     * Subscribes to item updates ({item, fields, ...}; data may also be an array of them)
     * and keeps a live table: Map item -> {field: latest value}. Partial updates are merged.
     * onUpdate(item, fields, changedFieldNames, table) is called per update: `fields` is the
     * merged record, changedFieldNames the fields whose value changed (all of them the first
     * time an item is seen). Returns the subscribe() handle plus `table`.
     */
    subscribeItems(channel, onUpdate) {
        const table = new Map();
        const apply = (message, update) => {
            if (!update || typeof update !== "object") {
                return;
            }
            let item = update.item;
            if (item === undefined || item === null) {
                const ch = message.channel || "";
                item = ch.substring(ch.lastIndexOf("/") + 1);
            }
            item = String(item);
            const incoming = update.fields && typeof update.fields === "object" ? update.fields : {};
            let record = table.get(item);
            const isNew = !record;
            if (isNew) {
                record = {};
                table.set(item, record);
            }
            const changed = [];
            for (const name of Object.keys(incoming)) {
                const value = incoming[name];
                if (isNew || !(name in record) || !sameValue(record[name], value)) {
                    changed.push(name);
                }
                record[name] = value;
            }
            if (onUpdate) {
                onUpdate(item, record, changed, table, update, message);
            }
        };
        const handle = this.subscribe(channel, (message) => {
            const data = message.data;
            if (Array.isArray(data)) {
                data.forEach((u) => apply(message, u));
            } else {
                apply(message, data);
            }
        });
        handle.table = table;
        return handle;
    }

    /** Publishes; resolves with the server's reply message (check reply.successful). */
    publish(channel, data) {
        return new Promise((resolve) => {
            this.cometd.publish(channel, data, (reply) => resolve(reply));
        });
    }
}

function sameValue(a, b) {
    if (a === b) {
        return true;
    }
    if (a && b && typeof a === "object" && typeof b === "object") {
        return JSON.stringify(a) === JSON.stringify(b);
    }
    return false;
}

/**
 * createClient({url, transports, cometd, logLevel, configuration, handshakeProps, fetch})
 *  - url: Bayeux URL (default: /cometd of the page's origin)
 *  - transports: "websocket" | "long-polling" | "callback-polling" | "http-streaming", or an
 *    array/comma list of them (order = preference), or "auto"/undefined for all
 *  - cometd: a CometD instance to use (Node: create it after cometd-nodejs-client's adapt())
 *  - configuration: extra cometd.configure() options (maxNetworkDelay, backoffIncrement, ...)
 * The client does not connect until connect() is called.
 */
export function createClient(options = {}) {
    return new CometGateClient(options);
}
