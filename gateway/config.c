#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_BOOL, T_STRING, T_LISTEN, T_LOGLEVEL } setting_type_t;

typedef struct setting {
    const char *key;
    setting_type_t type;
    size_t offset;
    size_t size; /* T_STRING buffer size */
    int64_t def, min, max;
    const char *sdef;
} setting_t;

#define OFF(f) offsetof(cg_config_t, f)
#define INT(k, f, d, lo, hi)                                                                       \
    {                                                                                              \
        k, T_INT, OFF(f), 0, d, lo, hi, NULL                                                       \
    }
#define BOOL(k, f, d)                                                                              \
    {                                                                                              \
        k, T_BOOL, OFF(f), 0, d, 0, 1, NULL                                                        \
    }
#define STR(k, f, d)                                                                               \
    {                                                                                              \
        k, T_STRING, OFF(f), sizeof(((cg_config_t *)0)->f), 0, 0, 0, d                             \
    }

static const setting_t settings[] = {
    {"listen", T_LISTEN, 0, 0, 0, 0, 0, "127.0.0.1:8080"},
    STR("static_dir", static_dir, "web"),
    {"log_level", T_LOGLEVEL, OFF(log_level), sizeof(((cg_config_t *)0)->log_level), 0, 0, 0,
     "notice"},
    INT("stats_interval_ms", stats_interval_ms, 1000, 0, 3600000),
    STR("event_loop", event_loop, "epoll"),
    STR("bayeux.path", bayeux.path, "/cometd"),
    INT("bayeux.timeout_ms", bayeux.timeout_ms, 30000, 0, 600000),
    INT("bayeux.interval_ms", bayeux.interval_ms, 0, 0, 600000),
    INT("bayeux.max_interval_ms", bayeux.max_interval_ms, 10000, 100, 3600000),
    INT("bayeux.multiple_clients_interval_ms", bayeux.multiple_clients_interval_ms, 2000, 0,
        600000),
    INT("bayeux.ws_ping_s", bayeux.ws_ping_s, 25, 0, 3600),
    BOOL("bayeux.ws_deflate", bayeux.ws_deflate, 0),
    INT("limits.max_body", limits.max_body, 1048576, 256, 1073741824),
    INT("limits.max_ws_message", limits.max_ws_message, 1048576, 256, 1073741824),
    INT("limits.max_sessions", limits.max_sessions, 100000, 1, 10000000),
    INT("limits.max_subscriptions", limits.max_subscriptions, 100, 1, 1000000),
    INT("limits.max_channel_length", limits.max_channel_length, 256, 2, 65536),
    INT("limits.max_batch", limits.max_batch, 100, 1, 100000),
    INT("limits.queue_messages", limits.queue_messages, 1000, 1, 10000000),
    INT("limits.queue_bytes", limits.queue_bytes, 4194304, 1024, 1073741824),
    INT("limits.max_message_size", limits.max_message_size, 262144, 64, 1073741824),
    INT("limits.max_subscription_bytes", limits.max_subscription_bytes, 16384, 256, 1073741824),
    INT("limits.peer_max_sessions", limits.peer_max_sessions, 10000, 1, 10000000),
    INT("limits.peer_handshake_rate", limits.peer_handshake_rate, 100, 1, 10000000),
    INT("limits.peer_handshake_burst", limits.peer_handshake_burst, 2000, 1, 10000000),
    INT("limits.body_timeout_ms", limits.body_timeout_ms, 10000, 100, 3600000),
    INT("limits.body_min_rate", limits.body_min_rate, 1024, 0, 1073741824),
    BOOL("demo.enabled", demo.enabled, 1),
    INT("demo.interval_ms", demo.interval_ms, 250, 1, 3600000),
    STR("demo.channel_prefix", demo.channel_prefix, "/demo/ticker"),
    INT("handoff.max_messages", handoff.max_messages, 65536, 1, 100000000),
    INT("handoff.max_bytes", handoff.max_bytes, 67108864, 1024, 17179869184LL),
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

const char *const cg_config_sections[] = {"kafka", "mqtt", "routes", NULL};

static const char *const group_keys[] = {"bayeux", "limits", "demo", "handoff", NULL};
/* Old names of groups, accepted with a warning for one release. */
static const struct {
    const char *old, *now;
} renamed_groups[] = {{"bus", "handoff"}};

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
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting_t *s = &settings[i];
        char *field = (char *)c + s->offset;
        switch (s->type) {
        case T_INT:
            *(int64_t *)field = s->def;
            break;
        case T_BOOL:
            *(bool *)field = s->def != 0;
            break;
        case T_STRING:
        case T_LOGLEVEL:
            snprintf(field, s->size, "%s", s->sdef);
            break;
        case T_LISTEN:
            cg_config_set_listen(c, s->sdef);
            break;
        }
    }
}

typedef struct loader {
    cg_config_t *c;
    const char *name;
    cg_config_report_fn report;
    void *arg;
    int errors;
} loader_t;

static void problem(loader_t *l, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(loader_t *l, int line, const char *key, const char *fmt, ...)
{
    char msg[512], full[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "%s:%d: %s: %s", l->name, line, key, msg);
    l->errors++;
    if (l->report)
        l->report(l->arg, full);
}

static const setting_t *find_setting(const char *key)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (!strcmp(settings[i].key, key))
            return &settings[i];
    return NULL;
}

static bool in_list(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(list[i], key))
            return true;
    return false;
}

/* Accepts 1048576, 1k/1m/1g (x1024) for sizes written by people. */
static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    int64_t mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024 * 1024 * 1024, end++;
    if (*end)
        return -1;
    if (v > INT64_MAX / mul || v < INT64_MIN / mul)
        return -1;
    *out = (int64_t)v * mul;
    return 0;
}

static void apply(loader_t *l, const setting_t *s, const char *key, const cg_yaml_node_t *v)
{
    if (v->type != CG_YAML_SCALAR) {
        problem(l, v->line, key, "expected a single value, not a %s",
                v->type == CG_YAML_MAP ? "mapping" : "list");
        return;
    }
    char *field = (char *)l->c + s->offset;
    switch (s->type) {
    case T_INT: {
        int64_t x;
        if (v->quoted || parse_int(v->scalar, &x)) {
            problem(l, v->line, key, "'%s' is not an integer", v->scalar);
            return;
        }
        if (x < s->min || x > s->max) {
            problem(l, v->line, key, "%" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]", x,
                    s->min, s->max);
            return;
        }
        *(int64_t *)field = x;
        break;
    }
    case T_BOOL:
        if (!v->quoted && (!strcmp(v->scalar, "true") || !strcmp(v->scalar, "yes")))
            *(bool *)field = true;
        else if (!v->quoted && (!strcmp(v->scalar, "false") || !strcmp(v->scalar, "no")))
            *(bool *)field = false;
        else
            problem(l, v->line, key, "'%s' is not true or false", v->scalar);
        break;
    case T_STRING:
        if (strlen(v->scalar) >= s->size) {
            problem(l, v->line, key, "longer than %zu characters", s->size - 1);
            return;
        }
        snprintf(field, s->size, "%s", v->scalar);
        break;
    case T_LOGLEVEL:
        if (strcmp(v->scalar, "error") && strcmp(v->scalar, "warn") &&
            strcmp(v->scalar, "notice") && strcmp(v->scalar, "info") &&
            strcmp(v->scalar, "debug")) {
            problem(l, v->line, key, "'%s' is not one of error, warn, notice, info, debug",
                    v->scalar);
            return;
        }
        snprintf(field, s->size, "%s", v->scalar);
        break;
    case T_LISTEN:
        if (cg_config_set_listen(l->c, v->scalar))
            problem(l, v->line, key, "'%s' is not HOST:PORT", v->scalar);
        break;
    }
}

static void check_semantics(loader_t *l)
{
    cg_config_t *c = l->c;
    if (c->bayeux.path[0] != '/' || strchr(c->bayeux.path, ' '))
        problem(l, 0, "bayeux.path", "'%s' must start with /", c->bayeux.path);
    if (strcmp(c->event_loop, "epoll") && strcmp(c->event_loop, "poll"))
        problem(l, 0, "event_loop", "'%s' is not epoll or poll", c->event_loop);
    if (c->demo.channel_prefix[0] != '/')
        problem(l, 0, "demo.channel_prefix", "'%s' must start with /", c->demo.channel_prefix);
}

int cg_config_load_text(cg_config_t *c, const char *name, const char *text, size_t len,
                        cg_config_report_fn report, void *arg)
{
    loader_t l = {.c = c, .name = name, .report = report, .arg = arg};
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
    if (root->type != CG_YAML_MAP) {
        problem(&l, root->line, "(top)", "the configuration must be a mapping");
        cg_yaml_free(root);
        return l.errors;
    }
    for (size_t i = 0; i < root->count; i++) {
        const char *k = root->keys[i];
        const cg_yaml_node_t *v = root->items[i];
        for (size_t r = 0; r < sizeof(renamed_groups) / sizeof(renamed_groups[0]); r++) {
            if (!strcmp(k, renamed_groups[r].old)) {
                cg_log(CG_LOG_WARN, "config", "%s:%d: %s: deprecated name, use %s", name,
                       root->key_lines[i], k, renamed_groups[r].now);
                k = renamed_groups[r].now;
            }
        }
        if (in_list(cg_config_sections, k))
            continue; /* checked by the module that owns it */
        if (in_list(group_keys, k)) {
            if (v->type != CG_YAML_MAP) {
                problem(&l, v->line, k, "expected a mapping");
                continue;
            }
            for (size_t j = 0; j < v->count; j++) {
                char dotted[128];
                snprintf(dotted, sizeof(dotted), "%s.%s", k, v->keys[j]);
                const setting_t *s = find_setting(dotted);
                if (!s)
                    problem(&l, v->key_lines[j], dotted, "unknown key");
                else
                    apply(&l, s, dotted, v->items[j]);
            }
            continue;
        }
        const setting_t *s = find_setting(k);
        if (!s)
            problem(&l, root->key_lines[i], k, "unknown key");
        else
            apply(&l, s, k, v);
    }
    if (!l.errors)
        check_semantics(&l);
    cg_yaml_free(c->tree);
    c->tree = root;
    return l.errors;
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

size_t cg_config_settings(const cg_config_setting_info_t **out)
{
    static cg_config_setting_info_t info[NSETTINGS];
    for (size_t i = 0; i < NSETTINGS; i++) {
        info[i].key = settings[i].key;
        info[i].type = settings[i].type == T_INT    ? "integer"
                       : settings[i].type == T_BOOL ? "boolean"
                                                    : "string";
        info[i].min = settings[i].min;
        info[i].max = settings[i].max;
    }
    *out = info;
    return NSETTINGS;
}

void cg_config_print(const cg_config_t *c, void (*out)(void *arg, const char *line), void *arg)
{
    char line[512];
    const char *group = NULL;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting_t *s = &settings[i];
        const char *dot = strchr(s->key, '.');
        const char *leaf = s->key;
        if (dot) {
            if (!group || strncmp(group, s->key, (size_t)(dot - s->key) + 1)) {
                snprintf(line, sizeof(line), "%.*s:", (int)(dot - s->key), s->key);
                out(arg, line);
                group = s->key;
            }
            leaf = dot + 1;
        } else {
            group = NULL;
        }
        const char *ind = dot ? "  " : "";
        const char *field = (const char *)c + s->offset;
        switch (s->type) {
        case T_INT:
            snprintf(line, sizeof(line), "%s%s: %" PRId64, ind, leaf, *(const int64_t *)field);
            break;
        case T_BOOL:
            snprintf(line, sizeof(line), "%s%s: %s", ind, leaf,
                     *(const bool *)field ? "true" : "false");
            break;
        case T_STRING:
        case T_LOGLEVEL:
            snprintf(line, sizeof(line), "%s%s: \"%s\"", ind, leaf, field);
            break;
        case T_LISTEN:
            snprintf(line, sizeof(line), "%s%s: \"%s:%d\"", ind, leaf, c->listen_host,
                     c->listen_port);
            break;
        }
        out(arg, line);
    }
}
