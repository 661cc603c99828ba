/* A string-keyed hash map (open hashing, chains). Keys are borrowed: the caller keeps the key
 * bytes alive for as long as the entry exists (usually they live inside the value).
 *
 * Keys are often chosen by clients (channel names, session ids, peer addresses), so they are
 * hashed with SipHash-2-4 under a key drawn once per process from getrandom(2): a client cannot
 * compute names that fall into one chain (hash flooding) without knowing it.
 * Not thread-safe; out of memory aborts (alloc.h). */
#ifndef CG_STRMAP_H
#define CG_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cg_strmap cg_strmap_t;

/* Never NULL. */
cg_strmap_t *cg_strmap_create(void);
void cg_strmap_destroy(cg_strmap_t *m);
void *cg_strmap_get(const cg_strmap_t *m, const char *key, size_t keylen);
/* 0, or -1 when the key is already present (the map is unchanged). */
int cg_strmap_put(cg_strmap_t *m, const char *key, size_t keylen, void *value);
/* Returns the removed value or NULL. */
void *cg_strmap_remove(cg_strmap_t *m, const char *key, size_t keylen);
size_t cg_strmap_count(const cg_strmap_t *m);

/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) of p[0..n)
 * under the 128-bit key k. */
uint64_t cg_siphash24(const uint8_t k[16], const void *p, size_t n);
/* The process's hash key: drawn from getrandom(2) on first use (thread-safe). Tests read it, or
 * set it before the first map is created to make chains predictable. */
void cg_strmap_hash_key(uint8_t out[16]);
void cg_strmap_set_hash_key(const uint8_t k[16]);

#endif
