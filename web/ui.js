// Small helpers shared by the demo pages (no dependencies).

export const params = new URLSearchParams(location.search);

/** Bayeux URL: ?url= (absolute or relative to the page) or /cometd of this origin. */
export function bayeuxURL() {
    return new URL(params.get("url") || "/cometd", location.href).href;
}

/** Another endpoint of the same gateway as bayeuxURL() (e.g. "/stats"). */
export function gatewayURL(path) {
    return new URL(path, bayeuxURL()).href;
}

/** Keeps ?url= and ?transport= on the navigation links so every page talks to one gateway. */
export function carryParams(keys = ["url", "transport"]) {
    for (const a of document.querySelectorAll("header.top nav a")) {
        const target = new URL(a.getAttribute("href"), location.href);
        for (const k of keys) {
            if (params.has(k)) {
                target.searchParams.set(k, params.get(k));
            }
        }
        a.href = target.pathname.replace(/^.*\//, "") + target.search;
    }
}

const banner = () => document.getElementById("banner");

/** kind: "error" | "info"; text null/"" hides the banner. */
export function setBanner(kind, text) {
    const b = banner();
    if (!b) {
        return;
    }
    if (!text) {
        b.hidden = true;
        b.textContent = "";
        b.removeAttribute("data-kind");
        return;
    }
    b.dataset.kind = kind;
    b.textContent = text;
    b.hidden = false;
}

/** Shows a cometgate client's state in #status / #transport and the banner. */
export function bindConnectionUI(client, what = "gateway") {
    const status = document.getElementById("status");
    const transport = document.getElementById("transport");
    let since = Date.now();
    const render = (state, reason) => {
        if (status) {
            status.textContent = state;
            status.dataset.state = state;
        }
        if (transport) {
            const t = client.transport || "—";
            transport.textContent = t;
            transport.dataset.transport = client.transport || "";
        }
        document.body.dataset.state = state;
        if (state === "connected") {
            setBanner(null);
        } else if (state === "connecting") {
            setBanner("info", "Connecting to the " + what + "…");
        } else if (state === "reconnecting") {
            const secs = Math.round((Date.now() - since) / 1000);
            setBanner("error", "Gateway unreachable: " + (reason || "connection lost") +
                ". Retrying" + (secs > 0 ? " (for " + secs + " s)" : "") + "…");
        } else {
            setBanner("error", "Disconnected from the gateway" + (reason ? ": " + reason : "") + ". Reload the page to reconnect.");
        }
    };
    client.addEventListener("state", (e) => {
        if (e.detail.state !== e.detail.previous) {
            since = Date.now();
        }
        render(e.detail.state, e.detail.reason);
    });
    // Refresh the "for N s" part while reconnecting.
    setInterval(() => {
        if (client.state === "reconnecting") {
            render(client.state, client.lastReason);
        }
    }, 1000);
    render(client.state === "disconnected" ? "connecting" : client.state, client.lastReason);
}

export function formatTime(date) {
    const d = date instanceof Date ? date : new Date(date);
    return d.toLocaleTimeString([], {hour12: false});
}

/** Reports a failure to start (e.g. CometD not installed) in the banner. */
export async function startupFailed(x) {
    console.error(x);
    let text = "Client failed to start: " + (x && x.message || x);
    try {
        const probe = await fetch(new URL("node_modules/cometd/cometd.js", import.meta.url), {method: "HEAD", cache: "no-store"});
        if (probe.status === 404) {
            text = "The CometD client is not installed on the gateway host (web/node_modules/cometd is missing): run `npm ci --prefix web`.";
        }
    } catch (ignored) {
        // keep the original message
    }
    setBanner("error", text);
    const status = document.getElementById("status");
    if (status) {
        status.textContent = "error";
        status.dataset.state = "error";
    }
}
