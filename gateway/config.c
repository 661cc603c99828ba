#include "config.h"
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C cg_config_t
static int check_listen(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    const char *s = cg_settings_scalar(st, val->v, val->key);
    if (s && cg_config_set_listen(obj, s)) {
        cg_settings_problem(st, val->v->line, val->key, "'%s' is not HOST:PORT", s);
        return -1;
    }
    return s ? 0 : -1;
}

static void show_listen(const void *obj, char *buf, size_t len)
{
    const cg_config_t *c = obj;
    snprintf(buf, len, "\"%s:%d\"", c->listen_host, c->listen_port);
}

/* A channel name or prefix: starts with /, no spaces. */
static int check_channel_path(cg_settings_t *st, const cg_setting_value_t *val, void *obj)
{
    (void)obj;
    const char *s = val->v->scalar;
    if (s[0] == '/' && !strchr(s, ' '))
        return 0;
    cg_settings_problem(st, val->v->line, val->key, "'%s' must start with / (and hold no spaces)",
                        s);
    return -1;
}

static const cg_setting_choice_t log_levels[] = {{"error", 0}, {"warn", 0},  {"notice", 0},
                                                 {"info", 0},  {"debug", 0}, {NULL, 0}};
static const cg_setting_choice_t event_loops[] = {{"epoll", 0}, {"poll", 0}, {NULL, 0}};

static const cg_setting_t settings[] = {
    CG_SET_CUSTOM(C, "listen", listen_port, check_listen, .show = show_listen,
                  .doc = "HOST:PORT to bind"),
    CG_SET_STRBUF(C, "static_dir", static_dir, "web", .doc = "\"\" turns static files off"),
    CG_SET_ENUMBUF(C, "log_level", log_level, "notice", log_levels),
    CG_SET_MS(C, "stats_interval_ms", stats_interval_ms, 1000, 0, 3600000,
              .doc = "/cometgate/stats period; 0 off"),
    CG_SET_ENUMBUF(C, "event_loop", event_loop, "epoll", event_loops,
                   .doc = "epoll (libev) or lws's own poll loop"),
    CG_SET_STRBUF(C, "bayeux.path", bayeux.path, "/cometd", .check = check_channel_path),
    CG_SET_MS(C, "bayeux.timeout_ms", bayeux.timeout_ms, 30000, 0, 600000,
              .doc = "a /meta/connect is held this long"),
    CG_SET_MS(C, "bayeux.interval_ms", bayeux.interval_ms, 0, 0, 600000, .doc = "advice.interval"),
    CG_SET_MS(C, "bayeux.max_interval_ms", bayeux.max_interval_ms, 10000, 100, 3600000,
              .doc = "a session without a /meta/connect this long is swept"),
    CG_SET_MS(C, "bayeux.multiple_clients_interval_ms", bayeux.multiple_clients_interval_ms, 2000,
              0, 600000),
    CG_SET_SECONDS(C, "bayeux.ws_ping_s", bayeux.ws_ping_s, 25, 0, 3600,
                   .doc = "idle WebSockets get a ping; 0 off"),
    CG_SET_BOOL(C, "bayeux.ws_deflate", bayeux.ws_deflate, 0,
                .doc = "permessage-deflate when offered"),
    CG_SET_SIZE(C, "limits.max_body", limits.max_body, 1048576, 256, 1073741824,
                .doc = "HTTP body: 413 above"),
    CG_SET_SIZE(C, "limits.max_ws_message", limits.max_ws_message, 1048576, 256, 1073741824,
                .doc = "WebSocket message: close 1009 above"),
    CG_SET_INT(C, "limits.max_sessions", limits.max_sessions, 100000, 1, 10000000),
    CG_SET_INT(C, "limits.max_subscriptions", limits.max_subscriptions, 100, 1, 1000000,
               .doc = "per session"),
    CG_SET_INT(C, "limits.max_channel_length", limits.max_channel_length, 256, 2, 65536),
    CG_SET_INT(C, "limits.max_batch", limits.max_batch, 100, 1, 100000,
               .doc = "messages per request or frame"),
    CG_SET_INT(C, "limits.queue_messages", limits.queue_messages, 1000, 1, 10000000,
               .doc = "per-session queue"),
    CG_SET_SIZE(C, "limits.queue_bytes", limits.queue_bytes, 4194304, 1024, 1073741824),
    CG_SET_SIZE(C, "limits.max_message_size", limits.max_message_size, 262144, 64, 1073741824,
                .doc = "one published message, encoded"),
    CG_SET_SIZE(C, "limits.max_subscription_bytes", limits.max_subscription_bytes, 16384, 256,
                1073741824, .doc = "per session: 128 + name length per subscription"),
    CG_SET_INT(C, "limits.peer_max_sessions", limits.peer_max_sessions, 10000, 1, 10000000,
               .doc = "sessions from one peer address"),
    CG_SET_INT(C, "limits.peer_handshake_rate", limits.peer_handshake_rate, 100, 1, 10000000,
               .doc = "handshakes per second per peer address"),
    CG_SET_INT(C, "limits.peer_handshake_burst", limits.peer_handshake_burst, 2000, 1, 10000000),
    CG_SET_MS(C, "limits.body_timeout_ms", limits.body_timeout_ms, 10000, 100, 3600000,
              .doc = "then a body slower than body_min_rate gets 408"),
    CG_SET_SIZE(C, "limits.body_min_rate", limits.body_min_rate, 1024, 0, 1073741824,
                .doc = "bytes per second"),
    CG_SET_BOOL(C, "demo.enabled", demo.enabled, 1),
    CG_SET_MS(C, "demo.interval_ms", demo.interval_ms, 250, 1, 3600000),
    CG_SET_STRBUF(C, "demo.channel_prefix", demo.channel_prefix, "/demo/ticker",
                  .check = check_channel_path),
    CG_SET_INT(C, "handoff.max_messages", handoff.max_messages, 65536, 1, 100000000,
               .doc = "connector threads -> loop queue"),
    CG_SET_SIZE(C, "handoff.max_bytes", handoff.max_bytes, 67108864, 1024, 17179869184LL),
    CG_SET_SECTION("kafka", .doc = "connectors/connectors_config.c"),
    CG_SET_SECTION("mqtt", .doc = "connectors/connectors_config.c"),
    CG_SET_SECTION("routes", .doc = "connectors/connectors_config.c"),
};

/* Old names of groups, accepted with a warning for one release. */
static const cg_setting_alias_t renamed_groups[] = {{"bus", "handoff"}, {NULL, NULL}};

static const cg_settings_table_t table = {
    .name = "",
    .settings = settings,
    .count = sizeof(settings) / sizeof(settings[0]),
    .aliases = renamed_groups,
    .dotted_hint = "a librdkafka property goes under kafka.client:, kafka.consumer: or "
                   "kafka.producer:",
};

const cg_settings_table_t *cg_config_table(void)
{
    return &table;
}

int cg_config_set_listen(cg_config_t *c, const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport)
        return -1;
    size_t hl = (size_t)(colon - hostport);
    const char *h = hostport;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') { /* [::1]:8080 */
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(c->listen_host))
        return -1;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return -1;
    memcpy(c->listen_host, h, hl);
    c->listen_host[hl] = '\0';
    c->listen_port = (int)port;
    return 0;
}

void cg_config_defaults(cg_config_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->source, sizeof(c->source), "built-in");
    cg_settings_defaults(&table, 0, c);
    cg_config_set_listen(c, "127.0.0.1:8080");
}

int cg_config_load_text(cg_config_t *c, const char *name, const char *text, size_t len,
                        cg_config_report_fn report, void *arg)
{
    snprintf(c->source, sizeof(c->source), "%s", name);
    char err[256];
    cg_yaml_node_t *root = cg_yaml_parse(text, len, err, sizeof(err));
    if (!root) {
        char full[600];
        snprintf(full, sizeof(full), "%s:%s", name, err + (strncmp(err, "line ", 5) ? 0 : 5));
        if (report)
            report(arg, full);
        return 1;
    }
    cg_settings_t st = {.file = name, .report = report, .arg = arg};
    cg_settings_section_t sec = {.map = root, .prefix = "", .obj = c};
    cg_settings_load(&st, &table, &sec);
    cg_yaml_free(c->tree);
    c->tree = root;
    return st.errors;
}

int cg_config_load_file(cg_config_t *c, const char *path, cg_config_report_fn report, void *arg)
{
    FILE *f = fopen(path, "rb");
    char line[600];
    if (!f) {
        snprintf(line, sizeof(line), "%s: cannot open: %s", path, strerror(errno));
        if (report)
            report(arg, line);
        return 1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            if (cap > 16 * 1024 * 1024) {
                snprintf(line, sizeof(line), "%s: larger than 16 MiB", path);
                if (report)
                    report(arg, line);
                free(text);
                fclose(f);
                return 1;
            }
            cap = cap ? cap * 2 : 8192;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return 1;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    int rc = cg_config_load_text(c, path, text, len, report, arg);
    free(text);
    return rc;
}

void cg_config_free(cg_config_t *c)
{
    cg_yaml_free(c->tree);
    c->tree = NULL;
}

const cg_yaml_node_t *cg_config_section(const cg_config_t *c, const char *name)
{
    return cg_yaml_get(c->tree, name);
}

void cg_config_print(const cg_config_t *c, void (*out)(void *arg, const char *line), void *arg)
{
    cg_settings_print(&table, 0, c, 0, out, arg);
}
