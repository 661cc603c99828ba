/* strmap: SipHash-2-4 against the paper's vectors, the per-process key, chains, many keys. */
#include "strmap.h"

#include "cg_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t test_key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* SipHash paper, appendix A: key 00..0f, message 00..0e. The empty message's value is the first
 * line of the reference vectors. */
static void test_siphash_vectors(void)
{
    uint8_t msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    CHECK(cg_siphash24(test_key, msg, 15) == 0xa129ca6149be45e5ull);
    CHECK(cg_siphash24(test_key, NULL, 0) == 0x726fdb47dd0e0e31ull);
    /* The key matters, and so does every byte and the length. */
    uint8_t other[16] = {0};
    CHECK(cg_siphash24(other, msg, 15) != cg_siphash24(test_key, msg, 15));
    CHECK(cg_siphash24(test_key, msg, 14) != cg_siphash24(test_key, msg, 15));
    CHECK(cg_siphash24(test_key, "ab", 2) != cg_siphash24(test_key, "ba", 2));
}

static void test_distinct_keys(void)
{
    cg_strmap_t *m = cg_strmap_create();
    static const char *names[] = {"/a", "/a/b", "/b", "", "/chat/lobby", "/chat/lobby2"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        CHECK(cg_strmap_put(m, names[i], strlen(names[i]), (void *)(names + i)) == 0);
    CHECK(cg_strmap_count(m) == 6);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        CHECK(cg_strmap_get(m, names[i], strlen(names[i])) == names + i);
    CHECK(cg_strmap_put(m, "/a", 2, NULL) == -1); /* already present: unchanged */
    CHECK(cg_strmap_get(m, "/a", 2) == names + 0);
    CHECK(cg_strmap_get(m, "/a/b", 2) == names + 0); /* keylen is the key */
    CHECK(cg_strmap_get(m, "/c", 2) == NULL);
    CHECK(cg_strmap_remove(m, "/a", 2) == names + 0);
    CHECK(cg_strmap_remove(m, "/a", 2) == NULL);
    CHECK(cg_strmap_get(m, "/a/b", 4) == names + 1);
    CHECK(cg_strmap_count(m) == 5);
    cg_strmap_destroy(m);
}

/* Keys in one chain: with a known hash key, pick names whose hashes share the low bits (the slot
 * of a new 64-slot map), and take them out from the middle, the head and the tail. */
static void test_chains(void)
{
    uint8_t saved[16];
    cg_strmap_hash_key(saved);
    cg_strmap_set_hash_key(test_key);
    cg_strmap_t *m = cg_strmap_create();
    enum { N = 8 };
    char names[N][32];
    int found = 0;
    uint64_t slot = cg_siphash24(test_key, "/seed", 5) & 63;
    for (int i = 0; found < N && i < 100000; i++) {
        char name[32];
        int len = snprintf(name, sizeof(name), "/c/%d", i);
        if ((cg_siphash24(test_key, name, (size_t)len) & 63) == slot)
            memcpy(names[found++], name, sizeof(name));
    }
    CHECK(found == N);
    for (int i = 0; i < N; i++)
        CHECK(cg_strmap_put(m, names[i], strlen(names[i]), names[i]) == 0);
    CHECK(cg_strmap_remove(m, names[3], strlen(names[3])) == names[3]);
    CHECK(cg_strmap_remove(m, names[0], strlen(names[0])) == names[0]);
    CHECK(cg_strmap_remove(m, names[N - 1], strlen(names[N - 1])) == names[N - 1]);
    for (int i = 0; i < N; i++) {
        void *want = i == 0 || i == 3 || i == N - 1 ? NULL : names[i];
        CHECK(cg_strmap_get(m, names[i], strlen(names[i])) == want);
    }
    CHECK(cg_strmap_count(m) == N - 3);
    /* A map keeps the key it was created with: changing the process key does not lose entries. */
    cg_strmap_set_hash_key(saved);
    CHECK(cg_strmap_get(m, names[1], strlen(names[1])) == names[1]);
    cg_strmap_destroy(m);
}

static void test_many_keys(void)
{
    enum { N = 200000 };
    char(*names)[16] = malloc(sizeof(*names) * N);
    cg_strmap_t *m = cg_strmap_create();
    int bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "/k/%d", i);
        bad += cg_strmap_put(m, names[i], strlen(names[i]), names[i]) != 0;
    }
    CHECK(bad == 0);
    CHECK(cg_strmap_count(m) == N);
    for (int i = 0; i < N; i++)
        bad += cg_strmap_get(m, names[i], strlen(names[i])) != names[i];
    CHECK(bad == 0);
    for (int i = 0; i < N; i += 2)
        bad += cg_strmap_remove(m, names[i], strlen(names[i])) != names[i];
    for (int i = 0; i < N; i++)
        bad += cg_strmap_get(m, names[i], strlen(names[i])) != (i % 2 ? names[i] : NULL);
    CHECK(bad == 0);
    CHECK(cg_strmap_count(m) == N / 2);
    cg_strmap_destroy(m);
    free(names);
}

static void key_hex(const uint8_t k[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", k[i]);
}

/* Each process draws its own key: two fresh runs of this binary print different ones. */
static void test_key_per_process(void)
{
    char keys[2][64] = {{0}};
    char exe[4096], cmd[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    CHECK(n > 0);
    if (n <= 0)
        return;
    exe[n] = '\0';
    snprintf(cmd, sizeof(cmd), "'%s' --print-key", exe);
    for (int i = 0; i < 2; i++) {
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        if (!f)
            return;
        CHECK(fgets(keys[i], sizeof(keys[i]), f) != NULL);
        CHECK(pclose(f) == 0);
    }
    CHECK(strlen(keys[0]) == 33); /* 32 hex digits and a newline */
    CHECK(strcmp(keys[0], keys[1]) != 0);
    uint8_t mine[16];
    char hex[33];
    cg_strmap_hash_key(mine);
    key_hex(mine, hex);
    CHECK(strncmp(hex, keys[0], 32) != 0);
    static const uint8_t zero[16];
    CHECK(memcmp(mine, zero, 16) != 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--print-key")) {
        uint8_t k[16];
        char hex[33];
        cg_strmap_hash_key(k);
        key_hex(k, hex);
        printf("%s\n", hex);
        return 0;
    }
    RUN(test_siphash_vectors);
    RUN(test_distinct_keys);
    RUN(test_chains);
    RUN(test_many_keys);
    RUN(test_key_per_process);
    TEST_MAIN_END();
}
