#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    const char *key;
    size_t keylen;
    uint64_t hash;
    void *value;
} entry_t;

struct cg_strmap {
    entry_t **slots;
    size_t nslots; /* power of two */
    size_t count;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

cg_strmap_t *cg_strmap_create(void)
{
    cg_strmap_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nslots = 64;
    m->slots = calloc(m->nslots, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void cg_strmap_destroy(cg_strmap_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nslots; i++) {
        entry_t *e = m->slots[i];
        while (e) {
            entry_t *n = e->next;
            free(e);
            e = n;
        }
    }
    free(m->slots);
    free(m);
}

static entry_t **find(const cg_strmap_t *m, const char *key, size_t keylen, uint64_t h)
{
    entry_t **pp = &m->slots[h & (m->nslots - 1)];
    while (*pp) {
        entry_t *e = *pp;
        if (e->hash == h && e->keylen == keylen && !memcmp(e->key, key, keylen))
            return pp;
        pp = &e->next;
    }
    return pp;
}

void *cg_strmap_get(const cg_strmap_t *m, const char *key, size_t keylen)
{
    entry_t **pp = find(m, key, keylen, hash_bytes(key, keylen));
    return *pp ? (*pp)->value : NULL;
}

static void grow(cg_strmap_t *m)
{
    size_t n = m->nslots * 2;
    entry_t **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return; /* keep working with longer chains */
    for (size_t i = 0; i < m->nslots; i++) {
        entry_t *e = m->slots[i];
        while (e) {
            entry_t *next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
}

int cg_strmap_put(cg_strmap_t *m, const char *key, size_t keylen, void *value)
{
    uint64_t h = hash_bytes(key, keylen);
    entry_t **pp = find(m, key, keylen, h);
    if (*pp)
        return -2;
    entry_t *e = malloc(sizeof(*e));
    if (!e)
        return -1;
    e->next = NULL;
    e->key = key;
    e->keylen = keylen;
    e->hash = h;
    e->value = value;
    *pp = e;
    if (++m->count > m->nslots)
        grow(m);
    return 0;
}

void *cg_strmap_remove(cg_strmap_t *m, const char *key, size_t keylen)
{
    entry_t **pp = find(m, key, keylen, hash_bytes(key, keylen));
    entry_t *e = *pp;
    if (!e)
        return NULL;
    *pp = e->next;
    void *v = e->value;
    free(e);
    m->count--;
    return v;
}

size_t cg_strmap_count(const cg_strmap_t *m)
{
    return m->count;
}
