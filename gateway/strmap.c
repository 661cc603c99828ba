#include "strmap.h"

#include "alloc.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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
    uint8_t hash_key[16]; /* the process key when the map was created: stored hashes stay valid */
};

/* ---- SipHash-2-4, from the paper's description (2 rounds per word, 4 to finish) ------------ */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3)                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

/* Little-endian load of n <= 8 bytes, whatever the host's byte order. */
static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)p[i] << (8 * i);
    return w;
}

uint64_t cg_siphash24(const uint8_t k[16], const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t k0 = load_le(k, 8), k1 = load_le(k + 8, 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull; /* "somepseudorandomlygeneratedbytes" */
    uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
    uint64_t v3 = k1 ^ 0x7465646279746573ull;
    size_t whole = n - n % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le(p + i, 8);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* The last word: the 0-7 remaining bytes, and the length mod 256 in the top byte. An empty
     * input is (NULL, 0): no pointer arithmetic on it. */
    uint64_t m = ((uint64_t)n << 56) | (n % 8 ? load_le(p + whole, n % 8) : 0);
    v3 ^= m;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m;
    v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the process key ------------------------------------------------------------------------ */

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static uint8_t process_key[16];

static void draw_key(void)
{
    size_t got = 0;
    while (got < sizeof(process_key)) {
        ssize_t r = getrandom(process_key + got, sizeof(process_key) - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        /* A guessable key would bring back exactly the flooding this key prevents. */
        if (r <= 0) {
            cg_log(CG_LOG_ERR, "strmap", "getrandom: %s", strerror(errno));
            cg_assert_fail("getrandom() for the hash key", __FILE__, __LINE__);
        }
        got += (size_t)r;
    }
}

void cg_strmap_hash_key(uint8_t out[16])
{
    pthread_once(&key_once, draw_key);
    memcpy(out, process_key, sizeof(process_key));
}

void cg_strmap_set_hash_key(const uint8_t k[16])
{
    pthread_once(&key_once, draw_key);
    memcpy(process_key, k, sizeof(process_key));
}

/* ---- the map -------------------------------------------------------------------------------- */

static uint64_t hash_bytes(const cg_strmap_t *m, const char *p, size_t n)
{
    return cg_siphash24(m->hash_key, p, n);
}

cg_strmap_t *cg_strmap_create(void)
{
    cg_strmap_t *m = cg_calloc(1, sizeof(*m));
    m->nslots = 64;
    m->slots = cg_calloc(m->nslots, sizeof(*m->slots));
    cg_strmap_hash_key(m->hash_key);
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
    entry_t **pp = find(m, key, keylen, hash_bytes(m, key, keylen));
    return *pp ? (*pp)->value : NULL;
}

static void grow(cg_strmap_t *m)
{
    size_t n = m->nslots * 2;
    entry_t **slots = cg_calloc(n, sizeof(*slots));
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
    uint64_t h = hash_bytes(m, key, keylen);
    entry_t **pp = find(m, key, keylen, h);
    if (*pp)
        return -1;
    entry_t *e = cg_malloc(sizeof(*e));
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
    entry_t **pp = find(m, key, keylen, hash_bytes(m, key, keylen));
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
