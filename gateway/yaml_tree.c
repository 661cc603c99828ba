#include "yaml_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static cg_yaml_node_t *new_node(cg_yaml_type_t t, int line)
{
    cg_yaml_node_t *n = calloc(1, sizeof(*n));
    if (n) {
        n->type = t;
        n->line = line;
    }
    return n;
}

void cg_yaml_free(cg_yaml_node_t *n)
{
    if (!n)
        return;
    free(n->scalar);
    for (size_t i = 0; i < n->count; i++) {
        if (n->keys)
            free(n->keys[i]);
        cg_yaml_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_lines);
    free(n->items);
    free(n);
}

static int add_item(cg_yaml_node_t *parent, char *key, int key_line, cg_yaml_node_t *child)
{
    size_t n = parent->count + 1;
    cg_yaml_node_t **items = realloc(parent->items, n * sizeof(*items));
    if (!items)
        return -1;
    parent->items = items;
    if (parent->type == CG_YAML_MAP) {
        char **keys = realloc(parent->keys, n * sizeof(*keys));
        if (!keys)
            return -1;
        parent->keys = keys;
        int *lines = realloc(parent->key_lines, n * sizeof(*lines));
        if (!lines)
            return -1;
        parent->key_lines = lines;
        keys[parent->count] = key;
        lines[parent->count] = key_line;
    }
    items[parent->count] = child;
    parent->count = n;
    return 0;
}

typedef struct parser {
    yaml_parser_t p;
    char *err;
    size_t errlen;
} parser_t;

static cg_yaml_node_t *parse_node(parser_t *ps, yaml_event_t *ev, int depth);

static int fail(parser_t *ps, int line, const char *msg)
{
    snprintf(ps->err, ps->errlen, "line %d: %s", line, msg);
    return -1;
}

static int next_event(parser_t *ps, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&ps->p, ev)) {
        snprintf(ps->err, ps->errlen, "line %zu: %s", ps->p.problem_mark.line + 1,
                 ps->p.problem ? ps->p.problem : "YAML syntax error");
        return -1;
    }
    return 0;
}

static cg_yaml_node_t *parse_collection(parser_t *ps, cg_yaml_node_t *n, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(ps, &ev))
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return n;
        }
        char *key = NULL;
        int key_line = 0;
        if (n->type == CG_YAML_MAP) {
            if (ev.type != YAML_SCALAR_EVENT) {
                fail(ps, (int)ev.start_mark.line + 1, "mapping keys must be plain strings");
                yaml_event_delete(&ev);
                goto fail;
            }
            key = strdup((const char *)ev.data.scalar.value);
            key_line = (int)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            for (size_t i = 0; key && i < n->count; i++) {
                if (!strcmp(n->keys[i], key)) {
                    fail(ps, key_line, "duplicate key");
                    free(key);
                    goto fail;
                }
            }
            if (!key || next_event(ps, &ev)) {
                free(key);
                goto fail;
            }
        }
        cg_yaml_node_t *child = parse_node(ps, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!child || add_item(n, key, key_line, child)) {
            free(key);
            cg_yaml_free(child);
            goto fail;
        }
    }
fail:
    cg_yaml_free(n);
    return NULL;
}

static cg_yaml_node_t *parse_node(parser_t *ps, yaml_event_t *ev, int depth)
{
    int line = (int)ev->start_mark.line + 1;
    if (depth > 32) {
        fail(ps, line, "nesting too deep");
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        cg_yaml_node_t *n = new_node(CG_YAML_SCALAR, line);
        if (!n)
            return NULL;
        n->scalar = strdup((const char *)ev->data.scalar.value);
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        if (!n->scalar) {
            free(n);
            return NULL;
        }
        return n;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
        cg_yaml_node_t *n =
            new_node(ev->type == YAML_MAPPING_START_EVENT ? CG_YAML_MAP : CG_YAML_SEQ, line);
        return n ? parse_collection(ps, n, depth) : NULL;
    }
    case YAML_ALIAS_EVENT:
        fail(ps, line, "aliases are not supported");
        return NULL;
    default:
        fail(ps, line, "unexpected YAML event");
        return NULL;
    }
}

cg_yaml_node_t *cg_yaml_parse(const char *text, size_t len, char *err, size_t errlen)
{
    parser_t ps = {.err = err, .errlen = errlen};
    err[0] = '\0';
    if (!yaml_parser_initialize(&ps.p)) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&ps.p, (const unsigned char *)text, len);
    cg_yaml_node_t *root = NULL;
    yaml_event_t ev;
    /* stream start, document start */
    for (;;) {
        if (next_event(&ps, &ev))
            goto out;
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        break;
    }
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        root = new_node(CG_YAML_MAP, 1); /* an empty file is an empty configuration */
        goto out;
    }
    root = parse_node(&ps, &ev, 0);
    yaml_event_delete(&ev);
    if (!root)
        goto out;
    if (next_event(&ps, &ev)) {
        cg_yaml_free(root);
        root = NULL;
        goto out;
    }
    if (ev.type != YAML_DOCUMENT_END_EVENT) {
        fail(&ps, (int)ev.start_mark.line + 1, "expected one YAML document");
        cg_yaml_free(root);
        root = NULL;
    } else {
        yaml_event_delete(&ev);
        if (next_event(&ps, &ev)) {
            cg_yaml_free(root);
            root = NULL;
            goto out;
        }
        if (ev.type != YAML_STREAM_END_EVENT) {
            fail(&ps, (int)ev.start_mark.line + 1, "expected one YAML document");
            cg_yaml_free(root);
            root = NULL;
        }
    }
    yaml_event_delete(&ev);
out:
    yaml_parser_delete(&ps.p);
    if (!root && !err[0])
        snprintf(err, errlen, "out of memory");
    return root;
}

const cg_yaml_node_t *cg_yaml_get(const cg_yaml_node_t *map, const char *key)
{
    if (!map || map->type != CG_YAML_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (!strcmp(map->keys[i], key))
            return map->items[i];
    return NULL;
}
