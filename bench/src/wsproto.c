#include "wsproto.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void cg_ws_make_key(char out[25])
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)rand();
    }
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
}

void cg_ws_accept_for(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[128];
    unsigned char dig[SHA_DIGEST_LENGTH];
    int n = snprintf(buf, sizeof(buf), "%s%s", key, guid);
    SHA1((const unsigned char *)buf, (size_t)n, dig);
    EVP_EncodeBlock((unsigned char *)out, dig, sizeof(dig));
}

long cg_ws_parse(const uint8_t *p, size_t n, uint64_t max_len, cg_ws_frame_t *f)
{
    if (n < 2)
        return 0;
    if (p[0] & 0x70) /* RSV bits: no extension negotiated */
        return -1;
    if (p[1] & 0x80) /* servers must not mask */
        return -1;
    size_t hdr = 2;
    uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = ((uint64_t)p[2] << 8) | p[3];
        hdr = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | p[2 + i];
        hdr = 10;
    }
    if (len > max_len)
        return -1;
    if (n - hdr < len)
        return 0;
    f->fin = (p[0] & 0x80) != 0;
    f->opcode = p[0] & 0x0f;
    f->payload = p + hdr;
    f->len = len;
    return (long)(hdr + len);
}

size_t cg_ws_encode(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask)
{
    size_t h = 0;
    out[h++] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t m[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
                    (uint8_t)mask};
    memcpy(out + h, m, 4);
    h += 4;
    const uint8_t *src = payload;
    for (size_t i = 0; i < len; i++)
        out[h + i] = src[i] ^ m[i & 3];
    return h + len;
}
