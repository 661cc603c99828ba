/* libFuzzer target: arbitrary bytes as a Bayeux request body, on a gateway that already has a
 * session ("CLIENTID" in the input is replaced by its id, so fuzzing reaches past the session
 * check), through every transport's view. */
#include "bayeux.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static cg_config_t cfg;
static cg_bayeux_t *b;
static char client_id[CG_SESSION_ID_LEN + 1];
static unsigned runs;

static void wake(cg_conn_t *c)
{
    (void)c;
}
static const cg_conn_ops_t ops = {.wake = wake};

static void setup(void)
{
    if (b && ++runs % 5000)
        return;
    cg_bayeux_destroy(b);
    b = cg_bayeux_create(&cfg);
    cg_conn_t c;
    memset(&c, 0, sizeof(c));
    cg_conn_init(&c, &ops, CG_TRANSPORT_LONG_POLLING);
    cg_request_info_t info = {.transport = CG_TRANSPORT_LONG_POLLING};
    const char *hs = "[{\"channel\":\"/meta/handshake\",\"supportedConnectionTypes\":"
                     "[\"long-polling\",\"websocket\"]}]";
    cg_bayeux_handle(b, &c, &info, hs, strlen(hs));
    const char *p = strstr(cg_buf_data(&c.replies), "\"clientId\":\"");
    if (p)
        memcpy(client_id, p + 12, CG_SESSION_ID_LEN);
    cg_conn_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!b) {
        cg_config_defaults(&cfg);
        cfg.limits.max_sessions = 200;
        cfg.limits.queue_messages = 20;
    }
    setup();
    char *body = malloc(size + 1);
    memcpy(body, data, size);
    body[size] = '\0';
    for (char *p = body; (p = strstr(p, "CLIENTID"));) {
        /* same length trick: pad the 8-char token to the 24-char id would need a copy; instead
         * overwrite in place when there is room after it */
        if ((size_t)(p - body) + CG_SESSION_ID_LEN <= size)
            memcpy(p, client_id, CG_SESSION_ID_LEN);
        p += 8;
    }
    cg_request_info_t info = {.transport = (cg_transport_t)(size % CG_TRANSPORT_COUNT),
                              .browser = size % 2 ? "browserA" : NULL,
                              .peer = "fuzz"};
    cg_conn_t c;
    memset(&c, 0, sizeof(c));
    cg_conn_init(&c, &ops, info.transport);
    cg_bayeux_handle(b, &c, &info, body, size);
    if (c.connect == CG_CONNECT_HELD && size % 3 == 0)
        cg_bayeux_release_for_messages(b, &c);
    if (c.connect == CG_CONNECT_RELEASED)
        cg_bayeux_take_connect_reply(b, &c, &c.replies);
    cg_bayeux_publish_data(b, "/fuzz/x", "{\"a\":1}", 7);
    cg_bayeux_conn_closed(b, &c);
    cg_conn_free(&c);
    free(body);
    return 0;
}
