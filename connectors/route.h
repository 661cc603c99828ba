/* Routes: which bus topics feed which Bayeux channels (inbound), which client channels are produced
 * to which bus topic (outbound), and the templates that build channel names, item names, Kafka keys
 * and MQTT topics from a message.
 *
 * Template syntax: literal text with placeholders in braces:
 *   {key}          Kafka message key (inbound Kafka routes)
 *   {topic}        the source topic
 *   {partition}    Kafka partition
 *   {1}, {2}, ...  MQTT topic levels (inbound MQTT) or channel segments (outbound)
 *   {field.a.b}    a payload field (nested objects by dots)
 *   {channel}      the client's channel (outbound)
 *   {{ and }}      literal braces
 * A value substituted into a channel is percent-encoded where it holds a character a channel
 * segment may not (so a key "a/b" becomes one segment "a%2Fb").
 *
 * Routes are built once from the configuration (connectors_config.c) and then read-only, by every
 * thread. What happens on them is counted elsewhere (ingest.h: cg_route_counters_t). */
#ifndef CG_ROUTE_H
#define CG_ROUTE_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gateway/buf.h"

/* Placeholders a template may use (the allowed set depends on where it is used). */
#define CG_TPL_KEY (1u << 0)
#define CG_TPL_TOPIC (1u << 1)
#define CG_TPL_PARTITION (1u << 2)
#define CG_TPL_LEVEL (1u << 3)
#define CG_TPL_FIELD (1u << 4)
#define CG_TPL_CHANNEL (1u << 5)

typedef enum {
    CG_TP_LIT,
    CG_TP_KEY,
    CG_TP_TOPIC,
    CG_TP_PARTITION,
    CG_TP_LEVEL,
    CG_TP_FIELD,
    CG_TP_CHANNEL,
} cg_tpl_kind_t;

typedef struct cg_tpl_part {
    cg_tpl_kind_t kind;
    char *text; /* CG_TP_LIT: the literal; CG_TP_FIELD: the dotted path */
    size_t len;
    int level; /* CG_TP_LEVEL: 1-based */
} cg_tpl_part_t;

typedef struct cg_template {
    char *source; /* as written */
    cg_tpl_part_t *parts;
    size_t nparts;
    unsigned uses; /* CG_TPL_* used */
} cg_template_t;

/* Compiles `s`. 0, or -1 with a reason in err (bad syntax, a placeholder not in `allowed`). */
int cg_template_compile(cg_template_t *t, const char *s, unsigned allowed, char *err,
                        size_t errlen);
void cg_template_free(cg_template_t *t);

/* What a template is expanded from. Strings need not be NUL-terminated. */
typedef struct cg_tpl_ctx {
    const char *key;
    size_t key_len;
    bool has_key;
    const char *topic;
    int32_t partition;
    const char *const *levels; /* MQTT topic levels or channel segments, each NUL-terminated */
    size_t nlevels;
    const json_t *fields; /* the payload object, or NULL */
    const char *channel;
} cg_tpl_ctx_t;

#define CG_TPL_EMISSING (-1) /* a placeholder has no value in this message */
#define CG_TPL_ENOMEM (-2)

/* Appends the expansion to out. `channel_segment`: percent-encode substituted values so each
 * stays inside one channel segment. On CG_TPL_EMISSING, `err` names the placeholder. */
int cg_template_expand(const cg_template_t *t, const cg_tpl_ctx_t *ctx, bool channel_segment,
                       cg_buf_t *out, char *err, size_t errlen);

/* A dotted path into a JSON object ("a.b"); NULL when absent. */
const json_t *cg_json_path(const json_t *root, const char *path, size_t len);

/* MQTT topic filter matching (+ one level, # the rest). */
bool cg_mqtt_filter_valid(const char *filter);
bool cg_mqtt_filter_matches(const char *filter, const char *topic);

/* Splits `s` on `sep` into at most `max` NUL-terminated levels inside `buf` (a copy of s).
 * A leading separator is skipped (channels "/a/b" give "a","b"). Returns the count. */
size_t cg_split_levels(const char *s, char sep, char *buf, size_t buflen, const char **levels,
                       size_t max);

typedef enum { CG_FORMAT_JSON, CG_FORMAT_MSGPACK, CG_FORMAT_TEXT, CG_FORMAT_BYTES } cg_format_t;
const char *cg_format_name(cg_format_t f);

typedef enum {
    CG_SOURCE_KAFKA,       /* exact topic name */
    CG_SOURCE_KAFKA_REGEX, /* POSIX extended regex, anchored as written */
    CG_SOURCE_MQTT,        /* topic filter */
} cg_source_kind_t;

typedef enum { CG_TARGET_KAFKA, CG_TARGET_MQTT } cg_target_kind_t;

/* One field of a projection: `out` in the item update takes the value at `path` in the payload. */
typedef struct cg_projection {
    char *out;
    char *path;
} cg_projection_t;

typedef struct cg_route {
    char name[64];
    int line; /* where the route starts in the config file */
    bool outbound;

    /* inbound */
    cg_source_kind_t source;
    char *topic; /* exact topic, regex source text, or MQTT filter */
    regex_t re;  /* CG_SOURCE_KAFKA_REGEX */
    cg_template_t channel;
    cg_template_t item; /* empty (nparts 0): the Kafka key, else the topic */
    bool has_item;
    cg_format_t format;
    cg_projection_t *fields;
    size_t nfields;
    int64_t max_size; /* payload bytes */

    /* outbound */
    char *pattern; /* Bayeux channel or pattern, e.g. /chat/ followed by ** */
    cg_target_kind_t target;
    cg_template_t target_topic;
    cg_template_t key; /* Kafka key; empty: no key */
    bool has_key;
    int qos;
    bool retain;
} cg_route_t;

/* Does an inbound route take messages from this topic? */
bool cg_route_matches_topic(const cg_route_t *r, const char *topic);

#endif
