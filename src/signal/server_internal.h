/*
 * The signaling server's insides, shared by the files of src/signal/ only.
 *
 * Ownership: the server owns every tc_conn (conns table). A connection's lws
 * per-session slot holds a pointer to it; the conn outlives the lws wsi only
 * until LWS_CALLBACK_CLOSED, which frees it. Other tables hold borrowed conn
 * pointers and are cleaned in tc_conn_free. Work that comes back later (a
 * login's password check) finds its connection by id, never by pointer.
 */
#pragma once

#include "telecounter/id_table.h"
#include "telecounter/media.h"
#include "telecounter/protocol.h"
#include "telecounter/router.h"
#include "telecounter/send_batch.h"
#include "telecounter/server.h"
#include "telecounter/stats.h"

#include "login_guard.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>

#define TC_OUT_MAX_MESSAGES 1024
#define TC_OUT_MAX_BYTES (4u << 20)

typedef struct tc_out_msg {
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of room, then the text */
} tc_out_msg;

typedef struct tc_conn {
    uint64_t id;
    tc_server *srv;
    struct lws *wsi;
    char addr[64];
    unsigned role;      /* one TC_ROLE_* bit */
    int64_t session_id; /* customer: its session */
    int64_t account_id; /* agent, ops: the account */
    char username[TC_USERNAME_MAX];
    char display_name[128];
    GByteArray *rx; /* a message arriving in fragments */
    GQueue out;     /* tc_out_msg*, oldest first */
    size_t out_bytes;
    GQueue deferred; /* events raised while its own request runs */
    bool in_request;
    double tokens; /* rate limit bucket */
    int64_t tokens_at;
    int refused;          /* requests refused since the last accepted one */
    int close_code;       /* non-zero: close once the queue is written */
    bool write_requested; /* lws_callback_on_writable already asked for */
    bool flush_listed;    /* in srv->to_flush */
    size_t unconfirmed;   /* bytes written directly since lws last said "writeable" */
    BIO *send_bio;        /* the TLS write side, made by srv->sends; owned by lws's SSL */
    /* The latest queue position not yet written: positions are coalesced, as
     * only the newest matters and a busy desk moves everyone at once. */
    bool position_pending;
    int position, wait_s, agents;
    bool watching; /* wants queue.summary */
    bool login_pending;
} tc_conn;

typedef struct tc_auth_token {
    int64_t account_id;
    char role[16];
    int64_t expires_at;
} tc_auth_token;

struct tc_server {
    const tc_config *cfg;
    tc_store *store;
    tc_router *router;
    GMainLoop *loop;
    struct lws_context *lws;
    struct lws_vhost *vhost;
    SSL_CTX *ssl_ctx;      /* the vhost's, for certificate reloads */
    GHashTable *conns;     /* uint64 id -> tc_conn* (owned) */
    GHashTable *customers; /* int64 session id -> tc_conn* */
    GHashTable *accounts;  /* int64 account id -> tc_conn* */
    GHashTable *per_addr;  /* address -> int count, as a pointer */
    tc_media *media;
    GHashTable *media_stats; /* int64 session id -> tc_leg_stats[2] (owned), latest */
    GHashTable *auth_tokens; /* token -> tc_auth_token* (owned) */
    GThreadPool *kdf_pool;
    int kdf_pending;        /* logins queued or being checked */
    uint64_t kdf_seq;       /* arrival order of logins */
    tc_login_guard *logins; /* failed-login throttle (login_guard.h) */
    uint64_t next_conn_id;
    bool queues_dirty;
    GArray *to_flush;     /* uint64 ids of connections with output to write */
    tc_send_batch *sends; /* sends to_flush's output together (see conn.c) */
    guint flush_source;
    guint tick_source, summary_source, history_source;
    tc_stats_history history;
    bool shutting_down;
    char origin_list[1024]; /* allowed origins, comma-separated */
    lws_retry_bo_t idle_policy;
    /* Security headers on every HTTP answer (pages, API, errors): see server.c. */
    struct lws_protocol_vhost_options headers[7];
    struct lws_http_mount mounts[1];
};

/* conn.c */
tc_conn *tc_conn_new(tc_server *srv, struct lws *wsi);
void tc_conn_free(tc_conn *c);
tc_conn *tc_conn_by_id(tc_server *srv, uint64_t id);
/* Takes text (malloc'd). Replies go out at once; events wait while the
 * connection's own request runs, so that its reply comes first. */
void tc_conn_reply(tc_conn *c, char *text);
void tc_conn_event(tc_conn *c, char *text);
void tc_conn_error(tc_conn *c, const json_t *id, const char *code, const char *message);
/* A customer's new queue position; written with the next batch, once. */
void tc_conn_position(tc_conn *c, int position, int wait_s, int agents);
void tc_conn_close(tc_conn *c, int code);
/* Feeds received bytes; handles each whole message. Returns -1 to drop the wsi. */
int tc_conn_receive(tc_conn *c, const void *in, size_t len, bool final, bool binary);
/* lws says the socket is writeable: writes what is queued; returns -1 to close. */
int tc_conn_writeable(tc_conn *c);
/* Writes the output of every connection that has some (see conn.c). */
void tc_conn_flush_all(tc_server *srv);
/* The source that calls tc_conn_flush_all once per loop round; its id. */
guint tc_conn_attach_flush(tc_server *srv, GMainContext *ctx);

/* dispatch.c: the table from request type to handler */
void tc_dispatch(tc_conn *c, tc_request *req);
void tc_bind_customer(tc_conn *c, int64_t session_id);
/* Maps a router/store errno to the protocol error reply. */
void tc_reply_router_error(tc_conn *c, const tc_request *req, int rc);

/* accounts.c: the requests of agents and ops */
void tc_handle_login(tc_conn *c, tc_request *req);
void tc_handle_logout(tc_conn *c, tc_request *req);
void tc_handle_agent_state(tc_conn *c, tc_request *req);
void tc_handle_agent_accept(tc_conn *c, tc_request *req);
void tc_handle_agent_decline(tc_conn *c, tc_request *req);
void tc_handle_agent_outcome(tc_conn *c, tc_request *req);
void tc_handle_agent_extend_wrap_up(tc_conn *c, tc_request *req);
void tc_handle_invite_create(tc_conn *c, tc_request *req);
void tc_handle_stats_live(tc_conn *c, tc_request *req);
void tc_handle_queue_watch(tc_conn *c, tc_request *req);
const tc_auth_token *tc_auth_lookup(tc_server *srv, const char *token, int64_t now);

/* media.c */
void tc_dispatch_media(tc_conn *c, tc_request *req);
tc_media_events tc_media_events_for(tc_server *srv);
/* The session ended: its media goes, and a summary is kept with the record. */
void tc_media_session_over(tc_server *srv, int64_t session_id);

/* hub.c */
tc_router_events tc_hub_events(tc_server *srv);
void tc_hub_send_summaries(tc_server *srv);
/* The ring event, to one connection. */
void tc_hub_send_ring(tc_conn *c, const tc_ring_info *ring);

/* http.c: per-request state of the HTTP protocol. */
typedef struct tc_http_pss {
    char *body; /* reply body, sent on the writeable callback */
    size_t len;
    /* an upload (POST /api/v1/evidence) */
    GByteArray *upload;
    unsigned verdict; /* 0 = accepted so far, else the HTTP status to answer */
    char verdict_msg[96];
    int64_t session_id, account_id;
    char mime[32];
} tc_http_pss;

#define TC_EVIDENCE_MAX_BYTES (8u << 20)

/* Protocol 0's per-connection slot. lws runs plain HTTP requests that reach
 * protocol 0 (a malformed upgrade, say) through the same callback and storage
 * as WebSockets, so the slot has room for both. */
typedef struct tc_ws_slot {
    tc_conn *conn;
    tc_http_pss http;
} tc_ws_slot;

int tc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

/* server.c */
int64_t tc_server_now(void);
/* The client's address, IPv4 without the ::ffff: prefix. */
void tc_peer_address(struct lws *wsi, char *out, size_t len);
/* 0 to let a WebSocket upgrade proceed; otherwise the refusal was sent (>0) or
 * the connection must be dropped (<0). */
int tc_server_confirm_upgrade(tc_server *srv, struct lws *wsi);
