/* A YAML document loaded into a small tree that keeps each node's line, so configuration errors
 * can name `file:line`. Only what configuration needs: mappings, sequences, scalars; anchors and
 * aliases are refused. */
#ifndef CG_YAML_TREE_H
#define CG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CG_YAML_SCALAR, CG_YAML_MAP, CG_YAML_SEQ } cg_yaml_type_t;

typedef struct cg_yaml_node cg_yaml_node_t;
struct cg_yaml_node {
    cg_yaml_type_t type;
    int line;               /* 1-based */
    char *scalar;           /* CG_YAML_SCALAR */
    bool quoted;            /* scalar was quoted: never a number/bool/null */
    size_t count;           /* MAP: pairs, SEQ: items */
    char **keys;            /* MAP */
    int *key_lines;         /* MAP */
    cg_yaml_node_t **items; /* MAP values / SEQ items */
};

/* Parses `len` bytes. On error returns NULL and writes "line N: problem" into err. */
cg_yaml_node_t *cg_yaml_parse(const char *text, size_t len, char *err, size_t errlen);
void cg_yaml_free(cg_yaml_node_t *n);
const cg_yaml_node_t *cg_yaml_get(const cg_yaml_node_t *map, const char *key);

#endif
