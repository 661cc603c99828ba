/* cg-load RFC 6455 client codec: handshake key/accept, server frame parsing
 * (unmasked, 7/16/64-bit lengths) and masked client frame encoding.
 * Pure functions over caller buffers; no I/O, no allocation. */
#ifndef CG_WSPROTO_H
#define CG_WSPROTO_H

#include <stddef.h>
#include <stdint.h>

#define CG_WS_OP_CONT 0x0
#define CG_WS_OP_TEXT 0x1
#define CG_WS_OP_BINARY 0x2
#define CG_WS_OP_CLOSE 0x8
#define CG_WS_OP_PING 0x9
#define CG_WS_OP_PONG 0xA

/* largest client frame header: 2 + 8 (length) + 4 (mask) */
#define CG_WS_MAX_HDR 14

typedef struct cg_ws_frame {
    int fin;
    int opcode;
    const uint8_t *payload;
    uint64_t len;
} cg_ws_frame_t;

/* 16 random bytes, base64: 24 chars + NUL */
void cg_ws_make_key(char out[25]);
/* expected Sec-WebSocket-Accept for key: 28 chars + NUL */
void cg_ws_accept_for(const char *key, char out[29]);

/* Parse one server frame from [p, p+n). Returns bytes the frame occupies
 * (>0), 0 if more bytes are needed, -1 on a protocol error (masked server
 * frame, reserved bits, length over max_len). */
long cg_ws_parse(const uint8_t *p, size_t n, uint64_t max_len, cg_ws_frame_t *f);

/* Encode a final, masked client frame into out (cap >= len + CG_WS_MAX_HDR).
 * Returns the frame size. */
size_t cg_ws_encode(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask);

#endif
