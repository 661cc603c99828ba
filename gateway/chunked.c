#include "chunked.h"

enum { SIZE, EXT, SIZE_LF, DATA, DATA_CR, DATA_LF, TRAILER, TRAILER_LF, DONE };

void cg_chunked_init(cg_chunked_t *c)
{
    c->state = SIZE;
    c->left = 0;
    c->digits = 0;
    c->line = 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int cg_chunked_feed(cg_chunked_t *c, const char *in, size_t len, cg_buf_t *out, size_t max,
                    size_t *used)
{
    size_t i = 0;
    int rc = CG_CHUNKED_MORE;
    while (i < len && c->state != DONE) {
        char ch = in[i];
        switch (c->state) {
        case SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                if (++c->digits > 15) /* > 2^60: nobody sends that honestly */
                    return CG_CHUNKED_ERROR;
                c->left = c->left * 16 + (uint64_t)v;
            } else if (c->digits && (ch == ';' || ch == ' ' || ch == '\t')) {
                c->state = EXT;
            } else if (c->digits && ch == '\r') {
                c->state = SIZE_LF;
            } else {
                return CG_CHUNKED_ERROR;
            }
            i++;
            break;
        }
        case EXT:
            if (ch == '\r')
                c->state = SIZE_LF;
            i++;
            break;
        case SIZE_LF:
            if (ch != '\n')
                return CG_CHUNKED_ERROR;
            i++;
            if (c->left == 0) {
                c->state = TRAILER;
                c->line = 0;
            } else {
                if (out->len + c->left > max)
                    return CG_CHUNKED_TOO_BIG;
                c->state = DATA;
            }
            break;
        case DATA: {
            size_t n = len - i;
            if (n > c->left)
                n = (size_t)c->left;
            cg_buf_append(out, in + i, n);
            i += n;
            c->left -= n;
            if (c->left == 0)
                c->state = DATA_CR;
            break;
        }
        case DATA_CR:
            if (ch != '\r')
                return CG_CHUNKED_ERROR;
            c->state = DATA_LF;
            i++;
            break;
        case DATA_LF:
            if (ch != '\n')
                return CG_CHUNKED_ERROR;
            c->state = SIZE;
            c->digits = 0;
            i++;
            break;
        case TRAILER:
            if (ch == '\r') {
                c->state = TRAILER_LF;
            } else if (++c->line > 8192) {
                return CG_CHUNKED_ERROR;
            }
            i++;
            break;
        case TRAILER_LF:
            if (ch != '\n')
                return CG_CHUNKED_ERROR;
            i++;
            if (c->line == 0)
                c->state = DONE; /* the empty line ends the body */
            else {
                c->state = TRAILER;
                c->line = 0;
            }
            break;
        }
    }
    if (c->state == DONE)
        rc = CG_CHUNKED_DONE;
    if (used)
        *used = i;
    return rc;
}
