/* libFuzzer target: arbitrary bytes written on one TCP connection to the real server (lws,
 * http.c, routing, every connection kind) on a loopback port: pipelined requests, lying and
 * conflicting lengths, chunked bodies, methods, WebSocket upgrades. The client half-closes after
 * writing; the input is done when the server has closed the connection (or after a bounded
 * number of loop turns, when the client closes it). The one server lives for the whole run, so
 * state left by one input (sessions, held connects) meets the next. */
#include "bayeux.h"
#include "handoff.h"
#include "log.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_TURNS 400

static cg_config_t cfg;
static cg_handoff_t *handoff;
static cg_bayeux_t *bayeux;
static cg_server_t *srv;
static int port;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    cg_log_set_level(CG_LOG_ERR);
    cg_config_defaults(&cfg);
    cg_config_set_listen(&cfg, "127.0.0.1:0");
    snprintf(cfg.event_loop, sizeof(cfg.event_loop), "poll");
    cfg.static_dir[0] = '\0';
    cfg.stats_interval_ms = 0;
    cfg.bayeux.timeout_ms = 200; /* held connects end within an input or two */
    cfg.limits.max_body = 4096;
    cfg.limits.body_timeout_ms = 100;
    cfg.limits.peer_handshake_burst = 1000000;
    cfg.limits.peer_handshake_rate = 1000000;
    cfg.limits.peer_max_sessions = 1000000;
    cg_handoff_limits_t bl = {1024, 1 << 20};
    handoff = cg_handoff_create(&bl);
    bayeux = cg_bayeux_create(&cfg);
    srv = cg_server_create(&cfg, bayeux, handoff);
    if (!handoff || !bayeux || !srv) {
        fprintf(stderr, "fuzz_http: cannot start the server\n");
        abort();
    }
    port = cg_server_port(srv);
    return 0;
}

static int connect_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        abort();
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)
        abort();
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = connect_client();
    size_t off = 0;
    bool closed = false, shut = false;
    char sink[65536];
    int turn;
    for (turn = 0; turn < MAX_TURNS && !closed; turn++) {
        cg_server_service(srv, 0);
        if (off < size) {
            ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
        } else if (!shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        for (;;) {
            ssize_t n = recv(fd, sink, sizeof(sink), 0);
            if (n > 0)
                continue;
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                closed = true;
            break;
        }
    }
    close(fd);
    /* Let the server see the close and free what the connection held. */
    for (int i = 0; i < 8; i++)
        cg_server_service(srv, 0);
    return 0;
}
