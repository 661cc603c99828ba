#include "connectors_config.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway/channel.h"

const char *cg_kafka_start_name(cg_kafka_start_t s)
{
    return s == CG_START_EARLIEST ? "earliest" : s == CG_START_COMMITTED ? "committed" : "latest";
}

typedef struct loader {
    const char *file;
    cg_config_report_fn report;
    void *arg;
    int errors;
    int64_t default_max_size;
} loader_t;

static void problem(loader_t *l, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(loader_t *l, int line, const char *key, const char *fmt, ...)
{
    char msg[512], full[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "%s:%d: %s: %s", l->file, line, key, msg);
    l->errors++;
    if (l->report)
        l->report(l->arg, full);
}

/* ---- scalar helpers ------------------------------------------------------------------------- */

static const char *scalar(loader_t *l, const cg_yaml_node_t *v, const char *key)
{
    if (v->type != CG_YAML_SCALAR) {
        problem(l, v->line, key, "expected a single value, not a %s",
                v->type == CG_YAML_MAP ? "mapping" : "list");
        return NULL;
    }
    return v->scalar;
}

static int get_string(loader_t *l, const cg_yaml_node_t *v, const char *key, char **out)
{
    const char *s = scalar(l, v, key);
    if (!s)
        return -1;
    if (!*s) {
        problem(l, v->line, key, "must not be empty");
        return -1;
    }
    free(*out);
    *out = strdup(s);
    return 0;
}

static int get_int(loader_t *l, const cg_yaml_node_t *v, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
    const char *s = scalar(l, v, key);
    if (!s)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (v->quoted || errno || end == s || *end) {
        problem(l, v->line, key, "'%s' is not an integer", s);
        return -1;
    }
    if (x < lo || x > hi) {
        problem(l, v->line, key, "%lld is out of range [%" PRId64 ", %" PRId64 "]", x, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_bool(loader_t *l, const cg_yaml_node_t *v, const char *key, bool *out)
{
    const char *s = scalar(l, v, key);
    if (!s)
        return -1;
    if (!v->quoted && (!strcmp(s, "true") || !strcmp(s, "yes")))
        *out = true;
    else if (!v->quoted && (!strcmp(s, "false") || !strcmp(s, "no")))
        *out = false;
    else {
        problem(l, v->line, key, "'%s' is not true or false", s);
        return -1;
    }
    return 0;
}

/* ---- kafka ---------------------------------------------------------------------------------- */

/* librdkafka properties cometgate sets itself: a value in kafka.client would break a guarantee. */
static const char *const kafka_reserved[] = {"bootstrap.servers",
                                             "metadata.broker.list",
                                             "group.id",
                                             "enable.auto.offset.store",
                                             "enable.partition.eof",
                                             "message.timeout.ms",
                                             "delivery.timeout.ms",
                                             NULL};

static void load_kafka(loader_t *l, const cg_yaml_node_t *sec, cg_kafka_config_t *k)
{
    k->enabled = true;
    k->start = CG_START_LATEST;
    k->metadata_refresh_ms = 5000;
    k->produce_timeout_ms = 5000;
    if (sec->type != CG_YAML_MAP) {
        problem(l, sec->line, "kafka", "expected a mapping");
        return;
    }
    bool have_bootstrap = false;
    for (size_t i = 0; i < sec->count; i++) {
        const char *key = sec->keys[i];
        const cg_yaml_node_t *v = sec->items[i];
        char dotted[160];
        snprintf(dotted, sizeof(dotted), "kafka.%s", key);
        if (!strcmp(key, "bootstrap_servers")) {
            have_bootstrap = get_string(l, v, dotted, &k->bootstrap_servers) == 0;
        } else if (!strcmp(key, "group_id")) {
            get_string(l, v, dotted, &k->group_id);
        } else if (!strcmp(key, "start")) {
            const char *s = scalar(l, v, dotted);
            if (!s)
                continue;
            if (!strcmp(s, "latest"))
                k->start = CG_START_LATEST;
            else if (!strcmp(s, "earliest"))
                k->start = CG_START_EARLIEST;
            else if (!strcmp(s, "committed"))
                k->start = CG_START_COMMITTED;
            else
                problem(l, v->line, dotted, "'%s' is not one of latest, earliest, committed", s);
        } else if (!strcmp(key, "metadata_refresh_ms")) {
            get_int(l, v, dotted, 100, 3600000, &k->metadata_refresh_ms);
        } else if (!strcmp(key, "produce_timeout_ms")) {
            get_int(l, v, dotted, 100, 300000, &k->produce_timeout_ms);
        } else if (!strcmp(key, "client")) {
            if (v->type != CG_YAML_MAP) {
                problem(l, v->line, dotted, "expected a mapping of librdkafka properties");
                continue;
            }
            /* Each property is tried on a scratch configuration: librdkafka is the authority on
             * its names and values. */
            rd_kafka_conf_t *scratch = rd_kafka_conf_new();
            k->client = calloc(v->count ? v->count : 1, sizeof(*k->client));
            for (size_t j = 0; j < v->count; j++) {
                char prop[256], err[256];
                snprintf(prop, sizeof(prop), "kafka.client.%s", v->keys[j]);
                const char *val = scalar(l, v->items[j], prop);
                if (!val)
                    continue;
                bool reserved = false;
                for (size_t r = 0; kafka_reserved[r]; r++)
                    reserved |= !strcmp(kafka_reserved[r], v->keys[j]);
                if (reserved) {
                    problem(l, v->key_lines[j], prop,
                            "set by cometgate (use kafka.bootstrap_servers, kafka.group_id, "
                            "kafka.produce_timeout_ms)");
                    continue;
                }
                if (rd_kafka_conf_set(scratch, v->keys[j], val, err, sizeof(err)) !=
                    RD_KAFKA_CONF_OK) {
                    problem(l, v->key_lines[j], prop, "%s", err);
                    continue;
                }
                k->client[k->nclient].key = strdup(v->keys[j]);
                k->client[k->nclient].value = strdup(val);
                k->nclient++;
            }
            rd_kafka_conf_destroy(scratch);
        } else {
            problem(l, sec->key_lines[i], dotted, "unknown key");
        }
    }
    if (!have_bootstrap && !k->bootstrap_servers)
        problem(l, sec->line, "kafka.bootstrap_servers", "required");
    if (!k->group_id) {
        char host[128] = "node";
        gethostname(host, sizeof(host) - 1);
        char g[200];
        snprintf(g, sizeof(g), "cometgate-%s", host);
        k->group_id = strdup(g);
    }
}

/* ---- mqtt ----------------------------------------------------------------------------------- */

static void load_mqtt(loader_t *l, const cg_yaml_node_t *sec, cg_mqtt_config_t *m)
{
    m->enabled = true;
    m->version = 4;
    m->qos = 1;
    m->clean_session = true;
    m->keepalive_s = 30;
    m->connect_timeout_s = 5;
    m->reconnect_min_s = 1;
    m->reconnect_max_s = 4;
    m->publish_timeout_ms = 5000;
    if (sec->type != CG_YAML_MAP) {
        problem(l, sec->line, "mqtt", "expected a mapping");
        return;
    }
    for (size_t i = 0; i < sec->count; i++) {
        const char *key = sec->keys[i];
        const cg_yaml_node_t *v = sec->items[i];
        char dotted[160];
        snprintf(dotted, sizeof(dotted), "mqtt.%s", key);
        if (!strcmp(key, "uri")) {
            if (get_string(l, v, dotted, &m->uri))
                continue;
            if (strncmp(m->uri, "tcp://", 6) && strncmp(m->uri, "mqtt://", 7) &&
                strncmp(m->uri, "ssl://", 6) && strncmp(m->uri, "mqtts://", 8) &&
                strncmp(m->uri, "ws://", 5) && strncmp(m->uri, "wss://", 6))
                problem(l, v->line, dotted,
                        "'%s' is not tcp://HOST:PORT (or mqtt://, ssl://, mqtts://, ws://, wss://)",
                        m->uri);
        } else if (!strcmp(key, "client_id")) {
            get_string(l, v, dotted, &m->client_id);
        } else if (!strcmp(key, "username")) {
            get_string(l, v, dotted, &m->username);
        } else if (!strcmp(key, "password")) {
            get_string(l, v, dotted, &m->password);
        } else if (!strcmp(key, "version")) {
            const char *s = scalar(l, v, dotted);
            if (!s)
                continue;
            if (!strcmp(s, "3.1.1"))
                m->version = 4;
            else if (!strcmp(s, "5") || !strcmp(s, "5.0"))
                m->version = 5;
            else
                problem(l, v->line, dotted, "'%s' is not 3.1.1 or 5", s);
        } else if (!strcmp(key, "qos")) {
            int64_t q;
            if (!get_int(l, v, dotted, 0, 1, &q))
                m->qos = (int)q;
        } else if (!strcmp(key, "clean_session")) {
            get_bool(l, v, dotted, &m->clean_session);
        } else if (!strcmp(key, "keepalive_s")) {
            get_int(l, v, dotted, 1, 65535, &m->keepalive_s);
        } else if (!strcmp(key, "connect_timeout_s")) {
            get_int(l, v, dotted, 1, 600, &m->connect_timeout_s);
        } else if (!strcmp(key, "reconnect_min_s")) {
            get_int(l, v, dotted, 1, 3600, &m->reconnect_min_s);
        } else if (!strcmp(key, "reconnect_max_s")) {
            get_int(l, v, dotted, 1, 3600, &m->reconnect_max_s);
        } else if (!strcmp(key, "publish_timeout_ms")) {
            get_int(l, v, dotted, 100, 300000, &m->publish_timeout_ms);
        } else {
            problem(l, sec->key_lines[i], dotted, "unknown key");
        }
    }
    if (!m->uri)
        problem(l, sec->line, "mqtt.uri", "required");
    if (m->reconnect_max_s < m->reconnect_min_s)
        problem(l, sec->line, "mqtt.reconnect_max_s", "smaller than reconnect_min_s");
    if (!m->client_id) {
        char host[128] = "node";
        gethostname(host, sizeof(host) - 1);
        char id[200];
        snprintf(id, sizeof(id), "cometgate-%s-%ld", host, (long)getpid());
        m->client_id = strdup(id);
    }
}

/* ---- routes --------------------------------------------------------------------------------- */

static void route_free(cg_route_t *r)
{
    if (!r)
        return;
    free(r->topic);
    if (!r->outbound && r->source == CG_SOURCE_KAFKA_REGEX && r->topic)
        regfree(&r->re);
    cg_template_free(&r->channel);
    cg_template_free(&r->item);
    cg_template_free(&r->target_topic);
    cg_template_free(&r->key);
    for (size_t i = 0; i < r->nfields; i++) {
        free(r->fields[i].out);
        free(r->fields[i].path);
    }
    free(r->fields);
    free(r->pattern);
    free(r);
}

static int compile(loader_t *l, const cg_yaml_node_t *v, const char *key, unsigned allowed,
                   cg_template_t *t)
{
    const char *s = scalar(l, v, key);
    if (!s)
        return -1;
    char err[256];
    if (cg_template_compile(t, s, allowed, err, sizeof(err))) {
        problem(l, v->line, key, "bad template '%s': %s", s, err);
        return -1;
    }
    return 0;
}

/* A channel template must give a valid plain channel whatever the placeholders hold: expand every
 * placeholder as "x" and validate. */
static void check_channel_template(loader_t *l, const cg_template_t *t, int line, const char *key)
{
    cg_buf_t b;
    cg_buf_init(&b, 0);
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].kind == CG_TP_LIT)
            cg_buf_append(&b, t->parts[i].text, t->parts[i].len);
        else
            cg_buf_append(&b, "x", 1);
    }
    cg_buf_append(&b, "", 1);
    const char *c = cg_buf_data(&b);
    cg_channel_kind_t kind;
    if (c[0] != '/' || cg_channel_validate(c, strlen(c), 65536, &kind) || kind != CG_CHANNEL_PLAIN)
        problem(l, line, key, "'%s' does not make a valid channel name", t->source);
    else if (cg_channel_is_meta(c) || cg_channel_is_service(c))
        problem(l, line, key, "'%s': a bus message cannot go to /meta or /service", t->source);
    cg_buf_free(&b);
}

static const char *const inbound_keys[] = {"name",   "kafka", "kafka_regex", "mqtt",     "channel",
                                           "format", "item",  "fields",      "max_size", NULL};
static const char *const outbound_keys[] = {"name", "publish", "to_kafka", "to_mqtt",
                                            "key",  "qos",     "retain",   NULL};

static bool in_list(const char *const *list, const char *k)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(list[i], k))
            return true;
    return false;
}

static void load_fields(loader_t *l, cg_route_t *r, const cg_yaml_node_t *v, const char *key)
{
    if (v->type == CG_YAML_SCALAR) {
        problem(l, v->line, key, "expected a list of field paths or a mapping name: path");
        return;
    }
    r->fields = calloc(v->count ? v->count : 1, sizeof(*r->fields));
    for (size_t i = 0; i < v->count; i++) {
        char k[240];
        snprintf(k, sizeof(k), "%s[%zu]", key, i);
        const char *path = scalar(l, v->items[i], k);
        if (!path)
            continue;
        const char *out = v->type == CG_YAML_MAP ? v->keys[i] : path;
        char err[128];
        cg_template_t probe;
        char tpl[600];
        snprintf(tpl, sizeof(tpl), "{field.%s}", path);
        if (!*path || !*out || cg_template_compile(&probe, tpl, CG_TPL_FIELD, err, sizeof(err))) {
            problem(l, v->items[i]->line, k, "'%s' is not a field path (a.b.c)", path);
            continue;
        }
        cg_template_free(&probe);
        for (size_t j = 0; j < r->nfields; j++)
            if (!strcmp(r->fields[j].out, out))
                problem(l, v->items[i]->line, k, "field '%s' is listed twice", out);
        r->fields[r->nfields].out = strdup(out);
        r->fields[r->nfields].path = strdup(path);
        r->nfields++;
    }
    if (!v->count)
        problem(l, v->line, key, "empty projection (leave 'fields' out to keep every field)");
}

static cg_route_t *load_route(loader_t *l, const cg_yaml_node_t *v, size_t idx,
                              const cg_connectors_config_t *cc)
{
    char base[32], key[160];
    snprintf(base, sizeof(base), "routes[%zu]", idx);
    if (v->type != CG_YAML_MAP) {
        problem(l, v->line, base, "expected a mapping");
        return NULL;
    }
    cg_route_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->line = v->line;
    r->max_size = l->default_max_size;
    r->qos = 1;
    snprintf(r->name, sizeof(r->name), "route%zu", idx + 1);
    const cg_yaml_node_t *publish = cg_yaml_get(v, "publish");
    r->outbound = publish != NULL;
    const char *const *allowed = r->outbound ? outbound_keys : inbound_keys;
    int nsources = 0, ntargets = 0;
    const cg_yaml_node_t *channel = NULL, *item = NULL, *keyn = NULL;
    int before = l->errors;
    for (size_t i = 0; i < v->count; i++) {
        const char *k = v->keys[i];
        const cg_yaml_node_t *x = v->items[i];
        snprintf(key, sizeof(key), "%s.%s", base, k);
        if (!in_list(allowed, k)) {
            if (in_list(r->outbound ? inbound_keys : outbound_keys, k))
                problem(l, v->key_lines[i], key, "not allowed in an %s route (it has%s 'publish')",
                        r->outbound ? "outbound" : "inbound", r->outbound ? "" : " no");
            else
                problem(l, v->key_lines[i], key, "unknown key");
            continue;
        }
        if (!strcmp(k, "name")) {
            const char *s = scalar(l, x, key);
            if (s && (!*s || strlen(s) >= sizeof(r->name)))
                problem(l, x->line, key, "must be 1 to %zu characters", sizeof(r->name) - 1);
            else if (s)
                snprintf(r->name, sizeof(r->name), "%s", s);
        } else if (!strcmp(k, "kafka") || !strcmp(k, "kafka_regex") || !strcmp(k, "mqtt")) {
            nsources++;
            if (get_string(l, x, key, &r->topic))
                continue;
            if (!strcmp(k, "kafka")) {
                r->source = CG_SOURCE_KAFKA;
            } else if (!strcmp(k, "kafka_regex")) {
                r->source = CG_SOURCE_KAFKA_REGEX;
                int e = regcomp(&r->re, r->topic, REG_EXTENDED | REG_NOSUB);
                if (e) {
                    char err[200];
                    regerror(e, &r->re, err, sizeof(err));
                    problem(l, x->line, key, "bad regex '%s': %s", r->topic, err);
                    free(r->topic);
                    r->topic = NULL;
                }
            } else {
                r->source = CG_SOURCE_MQTT;
                if (!cg_mqtt_filter_valid(r->topic))
                    problem(l, x->line, key,
                            "'%s' is not an MQTT topic filter (+ and # stand for whole levels, "
                            "# only last)",
                            r->topic);
            }
        } else if (!strcmp(k, "channel")) {
            channel = x;
        } else if (!strcmp(k, "item")) {
            item = x;
        } else if (!strcmp(k, "format")) {
            const char *s = scalar(l, x, key);
            if (!s)
                continue;
            if (!strcmp(s, "json"))
                r->format = CG_FORMAT_JSON;
            else if (!strcmp(s, "msgpack"))
                r->format = CG_FORMAT_MSGPACK;
            else if (!strcmp(s, "text"))
                r->format = CG_FORMAT_TEXT;
            else if (!strcmp(s, "bytes"))
                r->format = CG_FORMAT_BYTES;
            else
                problem(l, x->line, key, "'%s' is not one of json, msgpack, text, bytes", s);
        } else if (!strcmp(k, "fields")) {
            load_fields(l, r, x, key);
        } else if (!strcmp(k, "max_size")) {
            get_int(l, x, key, 1, 1073741824, &r->max_size);
        } else if (!strcmp(k, "publish")) {
            if (get_string(l, x, key, &r->pattern))
                continue;
            cg_channel_kind_t kind;
            if (r->pattern[0] != '/' ||
                cg_channel_validate(r->pattern, strlen(r->pattern), 65536, &kind))
                problem(l, x->line, key, "'%s' is not a channel or channel pattern", r->pattern);
            else if (cg_channel_is_meta(r->pattern) || cg_channel_is_service(r->pattern) ||
                     !strcmp(r->pattern, "/**") || !strcmp(r->pattern, "/*"))
                problem(l, x->line, key,
                        "'%s' would take /meta or /service publishes: name a narrower pattern",
                        r->pattern);
        } else if (!strcmp(k, "to_kafka") || !strcmp(k, "to_mqtt")) {
            ntargets++;
            r->target = !strcmp(k, "to_kafka") ? CG_TARGET_KAFKA : CG_TARGET_MQTT;
            if (!compile(l, x, key, CG_TPL_CHANNEL | CG_TPL_LEVEL | CG_TPL_FIELD,
                         &r->target_topic) &&
                r->target_topic.nparts == 0)
                problem(l, x->line, key, "must not be empty");
            else if (r->target == CG_TARGET_MQTT && r->target_topic.source &&
                     (strchr(r->target_topic.source, '+') || strchr(r->target_topic.source, '#')))
                problem(l, x->line, key, "an MQTT topic to publish to cannot hold + or #");
        } else if (!strcmp(k, "key")) {
            keyn = x;
        } else if (!strcmp(k, "qos")) {
            int64_t q;
            if (!get_int(l, x, key, 0, 1, &q))
                r->qos = (int)q;
        } else if (!strcmp(k, "retain")) {
            get_bool(l, x, key, &r->retain);
        }
    }
    if (r->outbound) {
        if (ntargets != 1)
            problem(l, v->line, base, "an outbound route needs exactly one of to_kafka, to_mqtt");
        if (ntargets == 1 && r->target == CG_TARGET_KAFKA && !cc->kafka.enabled)
            problem(l, v->line, base, "to_kafka, but there is no kafka section");
        if (ntargets == 1 && r->target == CG_TARGET_MQTT && !cc->mqtt.enabled)
            problem(l, v->line, base, "to_mqtt, but there is no mqtt section");
        if (keyn) {
            snprintf(key, sizeof(key), "%s.key", base);
            if (r->target != CG_TARGET_KAFKA)
                problem(l, keyn->line, key, "only Kafka messages have a key");
            else if (!compile(l, keyn, key, CG_TPL_CHANNEL | CG_TPL_LEVEL | CG_TPL_FIELD, &r->key))
                r->has_key = true;
        } else if (r->target == CG_TARGET_KAFKA) {
            char err[64];
            if (!cg_template_compile(&r->key, "{channel}", CG_TPL_CHANNEL, err, sizeof(err)))
                r->has_key = true;
        }
        if (r->target == CG_TARGET_KAFKA && cg_yaml_get(v, "retain")) {
            snprintf(key, sizeof(key), "%s.retain", base);
            problem(l, cg_yaml_get(v, "retain")->line, key, "only MQTT messages are retained");
        }
    } else {
        if (nsources != 1)
            problem(l, v->line, base,
                    "an inbound route needs exactly one of kafka, kafka_regex, mqtt (or 'publish' "
                    "for an outbound route)");
        bool is_mqtt = r->source == CG_SOURCE_MQTT;
        if (nsources == 1 && !is_mqtt && !cc->kafka.enabled)
            problem(l, v->line, base, "a Kafka source, but there is no kafka section");
        if (nsources == 1 && is_mqtt && !cc->mqtt.enabled)
            problem(l, v->line, base, "an MQTT source, but there is no mqtt section");
        unsigned tpl_allowed =
            CG_TPL_TOPIC | CG_TPL_FIELD | (is_mqtt ? CG_TPL_LEVEL : CG_TPL_KEY | CG_TPL_PARTITION);
        if (!channel) {
            problem(l, v->line, base, "'channel' is required");
        } else {
            snprintf(key, sizeof(key), "%s.channel", base);
            if (!compile(l, channel, key, tpl_allowed, &r->channel))
                check_channel_template(l, &r->channel, channel->line, key);
        }
        if (item) {
            snprintf(key, sizeof(key), "%s.item", base);
            if (!compile(l, item, key, tpl_allowed, &r->item))
                r->has_item = true;
        }
    }
    for (size_t i = 0; i < cc->nroutes; i++)
        if (!strcmp(cc->routes[i]->name, r->name))
            problem(l, v->line, base, "route name '%s' is already used (line %d)", r->name,
                    cc->routes[i]->line);
    if (l->errors != before) {
        route_free(r);
        return NULL;
    }
    return r;
}

int cg_connectors_config_load(const cg_config_t *cfg, cg_connectors_config_t **out,
                              cg_config_report_fn report, void *arg)
{
    loader_t l = {.file = cfg->source,
                  .report = report,
                  .arg = arg,
                  .default_max_size = cfg->limits.max_message_size};
    cg_connectors_config_t *cc = calloc(1, sizeof(*cc));
    if (!cc)
        return 1;
    const cg_yaml_node_t *k = cg_config_section(cfg, "kafka");
    const cg_yaml_node_t *m = cg_config_section(cfg, "mqtt");
    const cg_yaml_node_t *routes = cg_config_section(cfg, "routes");
    if (k)
        load_kafka(&l, k, &cc->kafka);
    if (m)
        load_mqtt(&l, m, &cc->mqtt);
    if (routes) {
        if (routes->type != CG_YAML_SEQ) {
            problem(&l, routes->line, "routes", "expected a list of routes");
        } else {
            cc->routes = calloc(routes->count ? routes->count : 1, sizeof(*cc->routes));
            for (size_t i = 0; i < routes->count; i++) {
                cg_route_t *r = load_route(&l, routes->items[i], i, cc);
                if (!r)
                    continue;
                cc->routes[cc->nroutes++] = r;
                if (r->outbound)
                    cc->noutbound++;
                else
                    cc->ninbound++;
            }
        }
    }
    if (l.errors) {
        cg_connectors_config_free(cc);
        return l.errors;
    }
    *out = cc;
    return 0;
}

void cg_connectors_config_free(cg_connectors_config_t *cc)
{
    if (!cc)
        return;
    free(cc->kafka.bootstrap_servers);
    free(cc->kafka.group_id);
    for (size_t i = 0; i < cc->kafka.nclient; i++) {
        free(cc->kafka.client[i].key);
        free(cc->kafka.client[i].value);
    }
    free(cc->kafka.client);
    free(cc->mqtt.uri);
    free(cc->mqtt.client_id);
    free(cc->mqtt.username);
    free(cc->mqtt.password);
    for (size_t i = 0; i < cc->nroutes; i++)
        route_free(cc->routes[i]);
    free(cc->routes);
    free(cc);
}

/* ---- printing ------------------------------------------------------------------------------- */

/* A YAML single-quoted scalar (no escapes but '' for '). Rotates over a few buffers so one outf
 * call can hold several. */
static const char *yq(const char *s)
{
    static char bufs[4][600];
    static int next;
    char *b = bufs[next++ & 3];
    size_t o = 0;
    b[o++] = '\'';
    for (; s && *s && o < sizeof(bufs[0]) - 3; s++) {
        if (*s == '\'')
            b[o++] = '\'';
        b[o++] = *s;
    }
    b[o++] = '\'';
    b[o] = '\0';
    return b;
}

static void outf(void (*out)(void *, const char *), void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void outf(void (*out)(void *, const char *), void *arg, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    out(arg, line);
}

static bool secret_property(const char *k)
{
    return strstr(k, "password") || strstr(k, "secret") || strstr(k, "key.pem");
}

void cg_connectors_config_print(const cg_connectors_config_t *cc,
                                void (*out)(void *arg, const char *line), void *arg)
{
    if (cc->kafka.enabled) {
        const cg_kafka_config_t *k = &cc->kafka;
        out(arg, "kafka:");
        outf(out, arg, "  bootstrap_servers: %s", yq(k->bootstrap_servers));
        outf(out, arg, "  group_id: %s", yq(k->group_id));
        outf(out, arg, "  start: %s", cg_kafka_start_name(k->start));
        outf(out, arg, "  metadata_refresh_ms: %" PRId64, k->metadata_refresh_ms);
        outf(out, arg, "  produce_timeout_ms: %" PRId64, k->produce_timeout_ms);
        if (k->nclient) {
            out(arg, "  client:");
            for (size_t i = 0; i < k->nclient; i++)
                outf(out, arg, "    %s: %s", k->client[i].key,
                     yq(secret_property(k->client[i].key) ? "********" : k->client[i].value));
        }
    }
    if (cc->mqtt.enabled) {
        const cg_mqtt_config_t *m = &cc->mqtt;
        out(arg, "mqtt:");
        outf(out, arg, "  uri: %s", yq(m->uri));
        outf(out, arg, "  client_id: %s", yq(m->client_id));
        if (m->username)
            outf(out, arg, "  username: %s", yq(m->username));
        if (m->password)
            out(arg, "  password: '********'");
        outf(out, arg, "  version: %s", m->version == 5 ? "'5'" : "'3.1.1'");
        outf(out, arg, "  qos: %d", m->qos);
        outf(out, arg, "  clean_session: %s", m->clean_session ? "true" : "false");
        outf(out, arg, "  keepalive_s: %" PRId64, m->keepalive_s);
        outf(out, arg, "  connect_timeout_s: %" PRId64, m->connect_timeout_s);
        outf(out, arg, "  reconnect_min_s: %" PRId64, m->reconnect_min_s);
        outf(out, arg, "  reconnect_max_s: %" PRId64, m->reconnect_max_s);
        outf(out, arg, "  publish_timeout_ms: %" PRId64, m->publish_timeout_ms);
    }
    if (!cc->nroutes) {
        out(arg, "routes: []");
        return;
    }
    out(arg, "routes:");
    for (size_t i = 0; i < cc->nroutes; i++) {
        const cg_route_t *r = cc->routes[i];
        outf(out, arg, "  - name: %s    # line %d", yq(r->name), r->line);
        if (r->outbound) {
            outf(out, arg, "    publish: %s", yq(r->pattern));
            outf(out, arg, "    %s: %s", r->target == CG_TARGET_KAFKA ? "to_kafka" : "to_mqtt",
                 yq(r->target_topic.source));
            if (r->target == CG_TARGET_KAFKA)
                outf(out, arg, "    key: %s", yq(r->key.source));
            else
                outf(out, arg, "    qos: %d\n    retain: %s", r->qos, r->retain ? "true" : "false");
            continue;
        }
        const char *sk = r->source == CG_SOURCE_KAFKA         ? "kafka"
                         : r->source == CG_SOURCE_KAFKA_REGEX ? "kafka_regex"
                                                              : "mqtt";
        outf(out, arg, "    %s: %s", sk, yq(r->topic));
        outf(out, arg, "    channel: %s", yq(r->channel.source));
        outf(out, arg, "    format: %s", cg_format_name(r->format));
        if (r->has_item)
            outf(out, arg, "    item: %s", yq(r->item.source));
        else
            outf(out, arg, "    item: null    # default: %s",
                 r->source == CG_SOURCE_MQTT ? "the topic" : "the key, or the topic without a key");
        if (r->nfields) {
            out(arg, "    fields:");
            for (size_t j = 0; j < r->nfields; j++)
                outf(out, arg, "      %s: %s", yq(r->fields[j].out), yq(r->fields[j].path));
        }
        outf(out, arg, "    max_size: %" PRId64, r->max_size);
    }
}
