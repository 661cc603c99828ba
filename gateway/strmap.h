/* A string-keyed hash map (open hashing, chains). Keys are borrowed: the caller keeps the key
 * bytes alive for as long as the entry exists (usually they live inside the value).
 * Not thread-safe. */
#ifndef CG_STRMAP_H
#define CG_STRMAP_H

#include <stddef.h>

typedef struct cg_strmap cg_strmap_t;

cg_strmap_t *cg_strmap_create(void);
void cg_strmap_destroy(cg_strmap_t *m);
void *cg_strmap_get(const cg_strmap_t *m, const char *key, size_t keylen);
/* 0, -1 out of memory, -2 key already present. */
int cg_strmap_put(cg_strmap_t *m, const char *key, size_t keylen, void *value);
/* Returns the removed value or NULL. */
void *cg_strmap_remove(cg_strmap_t *m, const char *key, size_t keylen);
size_t cg_strmap_count(const cg_strmap_t *m);

#endif
