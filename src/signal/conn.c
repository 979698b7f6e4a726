/*
 * conn.c: one WebSocket connection: reassembling messages within the size limit,
 * the per-connection rate limit, and the outgoing queue.
 *
 * Output is written once per main-loop round, after whatever raised it: a
 * connection with something to say is listed, and the prepare of one source
 * writes the whole list at the start of the next round (so a queue position
 * that changes three times in a round is sent once). It is written directly,
 * not from lws's writeable callback: asking lws for writability costs a
 * poll-set change, a GLib wake-up and a dispatch per connection, three times
 * the write itself, and a fan-out to 2,000 waiting customers is all such writes.
 * What keeps this safe: lws appends to its own buffer whatever the socket does
 * not take; a connection may be written directly only up to
 * TC_DIRECT_WRITE_BYTES since lws last said the socket was writeable (lws says
 * so only once its buffer is empty), and beyond that the queue waits for the
 * writeable callback; a connection that stops reading therefore fills its queue
 * and is closed. HTTP/2 streams (WebSockets over h2) must never be written
 * outside the callback, so they always wait for it.
 *
 * The flush writes every listed connection's records into its send_batch BIO
 * (see send_batch.h), which holds them; they go with one io_uring submission
 * per 64 connections instead of a write(2) each. What a socket does not take
 * waits in the BIO, which asks for the writeable callback; that sends it
 * before anything new.
 */
#include "server_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void want_write(tc_conn *c);

static void on_send_blocked(void *data)
{
    want_write(data);
}

/* Makes c's TLS connection write through the server's send batch. Not for an
 * HTTP/2 stream (its socket is shared), nor a connection without TLS. */
static void take_send_side(tc_conn *c)
{
    SSL *ssl = lws_get_ssl(c->wsi);
    if (!ssl || lws_get_network_wsi(c->wsi) != c->wsi || !c->srv->sends)
        return;
    BIO *bio = tc_send_batch_bio(c->srv->sends, lws_get_socket_fd(c->wsi));
    if (!bio)
        return; /* it keeps its socket BIO: one write per flush */
    SSL_set0_wbio(ssl, bio);
    tc_send_batch_on_blocked(bio, on_send_blocked, c);
    c->send_bio = bio;
}

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
    take_send_side(c);
    tc_id_table_put(srv->conns, (int64_t)c->id, c);
    return c;
}

static void unbind(tc_conn *c)
{
    tc_server *srv = c->srv;
    int64_t now = tc_server_now();
    if (c->role == TC_ROLE_CUSTOMER && tc_id_table_remove_if(srv->customers, c->session_id, c)) {
        if (!srv->shutting_down)
            tc_router_customer_disconnected(srv->router, c->session_id, now);
    }
    if ((c->role & (TC_ROLE_AGENT | TC_ROLE_OPS)) &&
        tc_id_table_remove_if(srv->accounts, c->account_id, c)) {
        if (c->role == TC_ROLE_AGENT && !srv->shutting_down)
            tc_router_agent_disconnected(srv->router, c->account_id, now);
    }
}

void tc_conn_free(tc_conn *c)
{
    if (!c)
        return;
    unbind(c);
    /* lws frees the BIO with the SSL, after this (LWS_CALLBACK_CLOSED) */
    tc_send_batch_on_blocked(c->send_bio, NULL, NULL);
    tc_id_table_remove(c->srv->conns, (int64_t)c->id);
    g_byte_array_free(c->rx, TRUE);
    g_queue_clear_full(&c->out, free);
    g_queue_clear_full(&c->deferred, free);
    g_free(c);
}

tc_conn *tc_conn_by_id(tc_server *srv, uint64_t id)
{
    return tc_id_table_get(srv->conns, (int64_t)id);
}

/* Bytes written directly before waiting for lws's writeable callback. */
#define TC_DIRECT_WRITE_BYTES (64u << 10)

/* The flush runs in the prepare of a source of the highest priority, which
 * GLib calls first on every loop round, before it polls: so output raised by
 * one round's dispatches goes out at the start of the next round without a
 * round of its own (an idle callback would cost one more walk of every
 * connection's GSource a fan-out). */
typedef struct flush_source {
    GSource base;
    tc_server *srv;
} flush_source;

static gboolean flush_prepare(GSource *src, gint *timeout_ms)
{
    tc_server *srv = ((flush_source *)src)->srv;
    *timeout_ms = -1;
    if (srv->to_flush->len > 0)
        tc_conn_flush_all(srv);
    return FALSE;
}

static gboolean flush_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    (void)src;
    (void)cb;
    (void)data;
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = {.prepare = flush_prepare, .dispatch = flush_dispatch};

guint tc_conn_attach_flush(tc_server *srv, GMainContext *ctx)
{
    GSource *src = g_source_new(&flush_funcs, sizeof(flush_source));
    ((flush_source *)src)->srv = srv;
    g_source_set_priority(src, G_PRIORITY_HIGH - 1);
    g_source_set_name(src, "tc-conn-flush");
    guint id = g_source_attach(src, ctx);
    g_source_unref(src);
    return id;
}

/* Lists c for the end-of-round flush. */
static void schedule_flush(tc_conn *c)
{
    tc_server *srv = c->srv;
    if (c->flush_listed || !c->wsi)
        return;
    c->flush_listed = true;
    g_array_append_val(srv->to_flush, c->id);
}

static void want_write(tc_conn *c)
{
    if (c->wsi && !c->write_requested) {
        c->write_requested = true;
        lws_callback_on_writable(c->wsi);
    }
}

static void push_msg(tc_conn *c, tc_out_msg *m);

/* Closes the socket without a close frame (lws closes it from its loop) and
 * forgets what was queued. */
static void drop(tc_conn *c)
{
    c->close_code = LWS_CLOSE_STATUS_GOINGAWAY; /* nothing more is queued or written */
    g_queue_clear_full(&c->out, free);
    c->out_bytes = 0;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static tc_out_msg *out_msg_new(size_t cap)
{
    tc_out_msg *m = malloc(sizeof *m + LWS_PRE + cap);
    if (m)
        m->len = 0;
    return m;
}

/* A pending position goes out before anything queued after it. */
static void flush_position(tc_conn *c)
{
    if (!c->position_pending)
        return;
    c->position_pending = false;
    tc_out_msg *m = out_msg_new(TC_QUEUE_UPDATE_MAX);
    if (!m)
        return;
    m->len = tc_protocol_queue_update((char *)m->buf + LWS_PRE, TC_QUEUE_UPDATE_MAX, c->session_id,
                                      c->position, c->wait_s, c->agents);
    push_msg(c, m);
}

void tc_conn_position(tc_conn *c, int position, int wait_s, int agents)
{
    c->position_pending = true;
    c->position = position;
    c->wait_s = wait_s;
    c->agents = agents;
    schedule_flush(c);
}

static void push(tc_conn *c, char *text)
{
    if (!text)
        return;
    size_t len = strlen(text);
    tc_out_msg *m = out_msg_new(len);
    if (m) {
        m->len = len;
        memcpy(m->buf + LWS_PRE, text, len);
    }
    free(text);
    if (m)
        push_msg(c, m);
}

static void enqueue(tc_conn *c, char *text)
{
    flush_position(c);
    push(c, text);
}

static void push_msg(tc_conn *c, tc_out_msg *m)
{
    if (c->close_code || !c->wsi) {
        free(m);
        return;
    }
    if (g_queue_get_length(&c->out) >= TC_OUT_MAX_MESSAGES ||
        c->out_bytes + m->len > TC_OUT_MAX_BYTES) {
        /* A client that does not read is dropped rather than held in memory; a
         * close frame could not reach it either, so the socket just goes. */
        tc_warn("connection %" G_GUINT64_FORMAT " (%s): not reading, closed", c->id, c->addr);
        free(m);
        drop(c);
        return;
    }
    g_queue_push_tail(&c->out, m);
    c->out_bytes += m->len;
    schedule_flush(c);
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

/* Writes queued messages: directly, within the allowance, or (from the
 * writeable callback) until the socket would block. -1 when lws failed. */
static int write_queued(tc_conn *c, bool direct)
{
    tc_out_msg *m;
    bool first = true;
    while ((m = g_queue_peek_head(&c->out)) != NULL) {
        if (direct ? c->unconfirmed + m->len > TC_DIRECT_WRITE_BYTES
                   : !first && lws_send_pipe_choked(c->wsi))
            break;
        first = false;
        g_queue_pop_head(&c->out);
        c->out_bytes -= m->len;
        if (direct)
            c->unconfirmed += m->len;
        int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0)
            return -1;
    }
    return 0;
}

/* Writes c's output now, as far as it may without lws's say-so. */
static void flush_direct(tc_conn *c)
{
    if (!c->wsi || c->close_code) {
        c->flush_listed = false;
        return;
    }
    flush_position(c); /* still listed: the position does not list c again */
    c->flush_listed = false;
    if (lws_get_network_wsi(c->wsi) != c->wsi) { /* an HTTP/2 stream */
        if (!g_queue_is_empty(&c->out))
            want_write(c);
        return;
    }
    if (write_queued(c, true) != 0) {
        tc_info("connection %" G_GUINT64_FORMAT " (%s): write failed, closed", c->id, c->addr);
        drop(c);
        return;
    }
    /* Ask for the callback early, so that the allowance is back before it runs out. */
    if (!g_queue_is_empty(&c->out) || c->unconfirmed > TC_DIRECT_WRITE_BYTES / 2)
        want_write(c);
}

void tc_conn_flush_all(tc_server *srv)
{
    GArray *ids = srv->to_flush;
    if (srv->sends)
        tc_send_batch_hold(srv->sends);
    for (guint i = 0; i < ids->len; i++) {
        tc_conn *c = tc_conn_by_id(srv, g_array_index(ids, uint64_t, i));
        if (c)
            flush_direct(c);
    }
    g_array_set_size(ids, 0);
    if (srv->sends)
        tc_send_batch_send(srv->sends);
}

/* lws has written everything it held: the allowance is back, and what waits in
 * the queue goes until the socket would block. */
int tc_conn_writeable(tc_conn *c)
{
    c->write_requested = false;
    /* What the send batch could not send goes before anything new. */
    int sent = c->send_bio ? tc_send_batch_resume(c->send_bio) : 0;
    if (sent == -EAGAIN) {
        want_write(c);
        return 0;
    }
    if (sent < 0) {
        tc_info("connection %" G_GUINT64_FORMAT " (%s): write failed (%s), closed", c->id, c->addr,
                g_strerror(-sent));
        return -1;
    }
    c->unconfirmed = 0;
    flush_position(c);
    if (write_queued(c, false) != 0)
        return -1;
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
