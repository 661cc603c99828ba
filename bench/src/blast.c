/* cg-blast: a WebSocket "server" that only measures the load tool itself.
 *
 * Accepts WebSocket upgrades on a loopback address (any path), then every
 * millisecond writes a batch of small text frames {"t":<us>,"p":"xx.."} to
 * each connection, as fast as the socket takes them (a partly written batch
 * is finished before the next one). The receiver, not this process, is meant
 * to be the bottleneck: cg-load --server-kind nchan --scenario kafka
 * --ts-field t against it reports the tool's own receive ceiling.
 * Single-threaded, bounded: exits after --duration seconds. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wsproto.h"

#define MAX_CONN 20000

typedef struct bconn {
    int fd;
    int open; /* upgrade done */
    char req[2048];
    size_t reqlen;
    char *pend; /* unsent tail of the last batch */
    size_t pendlen;
} bconn_t;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void drop(int ep, bconn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pend);
    free(c);
}

int main(int argc, char **argv)
{
    const char *listen_at = "127.0.0.1:8092";
    long duration = 60, batch = 64, payload = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen"))
            listen_at = argv[i + 1];
        else if (!strcmp(argv[i], "--duration"))
            duration = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--payload"))
            payload = atol(argv[i + 1]);
        else {
            fprintf(stderr, "usage: cg-blast [--listen 127.0.0.1:PORT] [--duration S<=3600] "
                            "[--batch N] [--payload B]\n");
            return 2;
        }
    }
    if (duration < 1 || duration > 3600 || batch < 1 || batch > 4096 || payload < 0 ||
        payload > 65536) {
        fprintf(stderr, "cg-blast: option out of range\n");
        return 2;
    }
    char host[64];
    const char *colon = strrchr(listen_at, ':');
    if (!colon || (size_t)(colon - listen_at) >= sizeof(host)) {
        fprintf(stderr, "cg-blast: --listen HOST:PORT\n");
        return 2;
    }
    memcpy(host, listen_at, (size_t)(colon - listen_at));
    host[colon - listen_at] = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "cg-blast: loopback IPv4 only\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4096) != 0) {
        perror("cg-blast: listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
    fprintf(stderr, "cg-blast: listening on %s for %ld s, %ld frames/batch, pid %d\n", listen_at,
            duration, batch, getpid());

    static bconn_t *conns[MAX_CONN];
    int nconn = 0;
    size_t cap = (size_t)batch * ((size_t)payload + 64);
    char *buf = malloc(cap), *frame = malloc((size_t)payload + 64),
         *filler = malloc((size_t)payload + 1);
    memset(filler, 'x', (size_t)payload);
    filler[payload] = 0;
    unsigned long long frames_out = 0;
    uint64_t end = now_us() + (uint64_t)duration * 1000000u;
    struct epoll_event evs[256];
    while (now_us() < end) {
        int n = epoll_wait(ep, evs, 256, 1);
        for (int i = 0; i < n; i++) {
            bconn_t *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (nconn >= MAX_CONN) {
                        close(fd);
                        continue;
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            char tmp[4096];
            ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);
            if (r <= 0) {
                if (r == 0 || errno != EAGAIN) {
                    for (int k = 0; k < nconn; k++)
                        if (conns[k] == c)
                            conns[k] = conns[--nconn];
                    drop(ep, c);
                }
                continue;
            }
            if (c->open)
                continue; /* client frames (pongs, closes) are ignored */
            size_t take = (size_t)r < sizeof(c->req) - 1 - c->reqlen
                              ? (size_t)r
                              : sizeof(c->req) - 1 - c->reqlen;
            memcpy(c->req + c->reqlen, tmp, take);
            c->reqlen += take;
            c->req[c->reqlen] = 0;
            if (!strstr(c->req, "\r\n\r\n"))
                continue;
            char *k = strcasestr(c->req, "sec-websocket-key:");
            char key[64] = "", acc[29];
            if (k && sscanf(k + 18, " %63[^\r\n ]", key) == 1) {
                cg_ws_accept_for(key, acc);
                char resp[256];
                int rn = snprintf(resp, sizeof(resp),
                                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
                                  "websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: %s\r\n\r\n",
                                  acc);
                if (send(c->fd, resp, (size_t)rn, MSG_NOSIGNAL) == rn) {
                    c->open = 1;
                    conns[nconn++] = c;
                }
            }
        }
        /* one batch per connection per pass, same bytes for all (server frames are not masked) */
        size_t blen = 0;
        uint64_t t = now_us();
        for (long f = 0; f < batch; f++) {
            int pl = snprintf(frame, (size_t)payload + 64, "{\"t\":%llu,\"p\":\"%s\"}",
                              (unsigned long long)t, filler);
            uint8_t *o = (uint8_t *)buf + blen;
            size_t h = 0;
            o[h++] = 0x81;
            if (pl < 126) {
                o[h++] = (uint8_t)pl;
            } else {
                o[h++] = 126;
                o[h++] = (uint8_t)(pl >> 8);
                o[h++] = (uint8_t)pl;
            }
            memcpy(o + h, frame, (size_t)pl);
            blen += h + (size_t)pl;
        }
        for (int k = 0; k < nconn; k++) {
            bconn_t *c = conns[k];
            if (c->pendlen) {
                ssize_t s = send(c->fd, c->pend, c->pendlen, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (s > 0) {
                    memmove(c->pend, c->pend + s, c->pendlen - (size_t)s);
                    c->pendlen -= (size_t)s;
                }
                continue;
            }
            ssize_t s = send(c->fd, buf, blen, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (s <= 0)
                continue;
            frames_out += (unsigned long long)batch; /* a partial batch is finished later */
            if ((size_t)s < blen) {
                c->pend = realloc(c->pend, blen);
                memcpy(c->pend, buf + s, blen - (size_t)s);
                c->pendlen = blen - (size_t)s;
            }
        }
    }
    fprintf(stderr, "cg-blast: done, %llu frames to %d connections\n", frames_out, nconn);
    return 0;
}
