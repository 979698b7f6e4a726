/*
 * conn.c: one WebSocket connection: reassembling messages within the size limit,
 * the per-connection rate limit, and the outgoing queue that lws drains one
 * message per writeable callback (lws allows a write only there).
 */
#include "server_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

tc_conn *tc_conn_new(tc_server *srv, struct lws *wsi)
{
    tc_conn *c = g_new0(tc_conn, 1);
    c->id = ++srv->next_conn_id;
    c->srv = srv;
    c->wsi = wsi;
    c->role = TC_ROLE_ANON;
    c->rx = g_byte_array_new();
    g_queue_init(&c->out);
    g_queue_init(&c->deferred);
    c->tokens = srv->cfg->message_burst;
    c->tokens_at = tc_server_now();
    tc_peer_address(wsi, c->addr, sizeof c->addr);
    g_hash_table_insert(srv->conns, &c->id, c);
    return c;
}

static void unbind(tc_conn *c)
{
    tc_server *srv = c->srv;
    int64_t now = tc_server_now();
    if (c->role == TC_ROLE_CUSTOMER && g_hash_table_lookup(srv->customers, &c->session_id) == c) {
        g_hash_table_remove(srv->customers, &c->session_id);
        if (!srv->shutting_down)
            tc_router_customer_disconnected(srv->router, c->session_id, now);
    }
    if ((c->role & (TC_ROLE_AGENT | TC_ROLE_OPS)) &&
        g_hash_table_lookup(srv->accounts, &c->account_id) == c) {
        g_hash_table_remove(srv->accounts, &c->account_id);
        if (c->role == TC_ROLE_AGENT && !srv->shutting_down)
            tc_router_agent_disconnected(srv->router, c->account_id, now);
    }
}

void tc_conn_free(tc_conn *c)
{
    if (!c)
        return;
    unbind(c);
    g_hash_table_steal(c->srv->conns, &c->id);
    g_byte_array_free(c->rx, TRUE);
    g_queue_clear_full(&c->out, free);
    g_queue_clear_full(&c->deferred, free);
    g_free(c);
}

tc_conn *tc_conn_by_id(tc_server *srv, uint64_t id)
{
    return g_hash_table_lookup(srv->conns, &id);
}

static void want_write(tc_conn *c)
{
    if (c->wsi && !c->write_requested) {
        c->write_requested = true;
        lws_callback_on_writable(c->wsi);
    }
}

static void push(tc_conn *c, char *text);

/* A pending position goes out before anything queued after it. */
static void flush_position(tc_conn *c)
{
    if (!c->position_pending)
        return;
    c->position_pending = false;
    push(c, tc_protocol_event("queue.update",
                              json_pack("{s:I, s:i, s:i}", "session_id", (json_int_t)c->session_id,
                                        "position", c->position, "wait_s", c->wait_s)));
}

void tc_conn_position(tc_conn *c, int position, int wait_s)
{
    c->position_pending = true;
    c->position = position;
    c->wait_s = wait_s;
    want_write(c);
}

static void enqueue(tc_conn *c, char *text)
{
    flush_position(c);
    push(c, text);
}

static void push(tc_conn *c, char *text)
{
    if (!text)
        return;
    size_t len = strlen(text);
    if (c->close_code || !c->wsi) {
        free(text);
        return;
    }
    if (g_queue_get_length(&c->out) >= TC_OUT_MAX_MESSAGES ||
        c->out_bytes + len > TC_OUT_MAX_BYTES) {
        /* A client that does not read is dropped rather than held in memory. */
        tc_warn("connection %" G_GUINT64_FORMAT " (%s): not reading, closed", c->id, c->addr);
        free(text);
        tc_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return;
    }
    tc_out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m) {
        free(text);
        return;
    }
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    free(text);
    g_queue_push_tail(&c->out, m);
    c->out_bytes += len;
    want_write(c);
}

void tc_conn_reply(tc_conn *c, char *text)
{
    enqueue(c, text);
}

void tc_conn_event(tc_conn *c, char *text)
{
    if (c->in_request && text)
        g_queue_push_tail(&c->deferred, text);
    else
        enqueue(c, text);
}

void tc_conn_error(tc_conn *c, const json_t *id, const char *code, const char *message)
{
    enqueue(c, tc_protocol_error_text(id, code, message, NULL));
}

void tc_conn_close(tc_conn *c, int code)
{
    if (c->close_code || !c->wsi)
        return;
    c->close_code = code;
    want_write(c);
}

/* Token bucket: messages_per_s sustained, message_burst at once. */
static bool rate_allows(tc_conn *c)
{
    const tc_config *cfg = c->srv->cfg;
    int64_t now = tc_server_now();
    c->tokens += (double)(now - c->tokens_at) * cfg->messages_per_s / 1000.0;
    if (c->tokens > cfg->message_burst)
        c->tokens = cfg->message_burst;
    c->tokens_at = now;
    if (c->tokens >= 1) {
        c->tokens -= 1;
        c->refused = 0;
        return true;
    }
    c->refused++;
    return false;
}

static void handle_message(tc_conn *c, const char *text, size_t len)
{
    /* Parsed before the rate check, so that even a refusal echoes its id:
     * every request gets exactly one reply. */
    tc_request req;
    tc_protocol_error err;
    int parsed = tc_protocol_parse(text, len, &req, &err);
    if (!rate_allows(c)) {
        if (c->refused > 3 * c->srv->cfg->message_burst) {
            tc_warn("connection %" G_GUINT64_FORMAT " (%s): request flood, closed", c->id, c->addr);
            tc_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        } else {
            tc_conn_error(c, req.id, "rate_limited", "too many requests; slow down");
        }
    } else if (parsed != 0) {
        tc_conn_error(c, req.id, err.code, err.message);
    } else {
        c->in_request = true;
        tc_dispatch(c, &req);
        c->in_request = false;
        char *event;
        while ((event = g_queue_pop_head(&c->deferred)) != NULL)
            enqueue(c, event);
    }
    tc_request_cleanup(&req);
}

int tc_conn_receive(tc_conn *c, const void *in, size_t len, bool final, bool binary)
{
    if (c->close_code)
        return 0;
    if (c->rx->len + len > (size_t)c->srv->cfg->max_message_bytes) {
        tc_info("connection %" G_GUINT64_FORMAT " (%s): message over %d bytes, closed", c->id,
                c->addr, c->srv->cfg->max_message_bytes);
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too large",
                         9);
        return -1;
    }
    g_byte_array_append(c->rx, in, (guint)len);
    if (!final)
        return 0;
    if (binary)
        tc_conn_error(c, NULL, "bad_json", "binary frames are not part of the protocol");
    else
        handle_message(c, (const char *)c->rx->data, c->rx->len);
    g_byte_array_set_size(c->rx, 0);
    return 0;
}

/* Writes what is queued until the socket would block: one callback per
 * message would let a busy connection fall behind by the loop's whole round. */
int tc_conn_writeable(tc_conn *c)
{
    c->write_requested = false;
    flush_position(c);
    tc_out_msg *m;
    while (!lws_send_pipe_choked(c->wsi) && (m = g_queue_pop_head(&c->out)) != NULL) {
        c->out_bytes -= m->len;
        int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0)
            return -1;
    }
    if (!g_queue_is_empty(&c->out)) {
        want_write(c);
        return 0;
    }
    if (c->close_code) {
        lws_close_reason(c->wsi, (enum lws_close_status)c->close_code, NULL, 0);
        return -1;
    }
    return 0;
}
