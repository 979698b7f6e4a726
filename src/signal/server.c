/*
 * server.c: the lws context on the GLib main loop, its mounts and protocols,
 * the WebSocket callback, the timers that drive the router, and start-up,
 * shutdown and certificate reloads.
 */
#include "server_internal.h"

#include "telecounter/clock.h"
#include "telecounter/invite.h"
#include "telecounter/log.h"
#include "telecounter/loop.h"

#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <string.h>

void tc_login_check(gpointer data, gpointer user); /* accounts.c, on the KDF thread */
gint tc_login_job_order(gconstpointer a, gconstpointer b, gpointer user); /* accounts.c */

int64_t tc_server_now(void)
{
    return tc_clock_wall_ms();
}

static bool origin_allowed(const tc_server *srv, const char *origin)
{
    gchar **list = g_strsplit(srv->origin_list, ",", -1);
    bool ok = false;
    for (gchar **p = list; *p && !ok; p++)
        ok = strcmp(g_strstrip(*p), origin) == 0;
    g_strfreev(list);
    return ok;
}

static int refuse(struct lws *wsi, unsigned status, const char *why)
{
    char addr[64] = "";
    tc_peer_address(wsi, addr, sizeof addr);
    tc_info("websocket from %s refused (%u): %s", addr, status, why);
    if (lws_return_http_status(wsi, status, why))
        return -1;
    return 1;
}

void tc_peer_address(struct lws *wsi, char *out, size_t len)
{
    char raw[64] = "";
    lws_get_peer_simple(wsi, raw, sizeof raw);
    /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; one client,
     * one key, for the per-address limits. */
    const char *mapped = "::ffff:";
    const char *addr =
        strncmp(raw, mapped, strlen(mapped)) == 0 && strchr(raw, '.') ? raw + strlen(mapped) : raw;
    snprintf(out, len, "%s", addr);
}

int tc_server_confirm_upgrade(tc_server *srv, struct lws *wsi)
{
    char uri[64] = "", origin[256] = "", addr[64] = "";
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    if (strcmp(uri, "/ws") != 0)
        return refuse(wsi, 404, "the WebSocket is at /ws");
    /* Browsers always send Origin; tools and test peers may not, and are not
     * what an Origin check protects against. */
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) > 0 &&
        !origin_allowed(srv, origin))
        return refuse(wsi, 403, "origin not allowed");
    tc_peer_address(wsi, addr, sizeof addr);
    int count = GPOINTER_TO_INT(g_hash_table_lookup(srv->per_addr, addr));
    if (count >= srv->cfg->connections_per_address)
        return refuse(wsi, 429, "too many connections from this address");
    if (srv->shutting_down)
        return refuse(wsi, 503, "shutting down");
    return 0;
}

static void count_addr(tc_server *srv, const char *addr, int delta)
{
    int count = GPOINTER_TO_INT(g_hash_table_lookup(srv->per_addr, addr)) + delta;
    if (count > 0)
        g_hash_table_insert(srv->per_addr, g_strdup(addr), GINT_TO_POINTER(count));
    else
        g_hash_table_remove(srv->per_addr, addr);
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    tc_server *srv = lws_context_user(lws_get_context(wsi));
    tc_ws_slot *ws = user;
    tc_conn **slot = ws ? &ws->conn : NULL;
    tc_loop_let_current_source_recurse();
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        /* A new socket from lws's accept(): its number may be one just closed,
         * which the epoll mirror of the loop could not tell from the old one. */
        tc_loop_epoll_forget((int)(lws_intptr_t)in);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return tc_server_confirm_upgrade(srv, wsi);
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return tc_http_callback(wsi, reason, user, in, len); /* user: the SSL_CTX */
    case LWS_CALLBACK_ESTABLISHED:
        *slot = tc_conn_new(srv, wsi);
        count_addr(srv, (*slot)->addr, +1);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!slot || !*slot)
            return -1;
        return tc_conn_receive(*slot, in, len,
                               lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi),
                               lws_frame_is_binary(wsi));
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return slot && *slot ? tc_conn_writeable(*slot) : 0;
    case LWS_CALLBACK_CLOSED:
        if (slot && *slot) {
            count_addr(srv, (*slot)->addr, -1);
            (*slot)->wsi = NULL;
            tc_conn_free(*slot);
            *slot = NULL;
        }
        return 0;
    default:
        return tc_http_callback(wsi, reason, ws ? &ws->http : NULL, in, len);
    }
}

/* lws upgrades a WebSocket that names no subprotocol (what browsers send) to
 * protocol 0, whatever the mount says: so the WebSocket protocol comes first,
 * and passes what is HTTP's to tc_http_callback. */
static const struct lws_protocols protocols[] = {
    {"telecounter", ws_callback, sizeof(tc_ws_slot), 4096, 0, NULL, 0},
    {"http", tc_http_callback, sizeof(tc_http_pss), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Every path goes to the http protocol's callback (http.c), which serves the
 * pages and files of web/ itself: an lws file mount answers /join with a
 * redirect to /join/ that drops the query (?desk=...), and the page link must
 * work as written. */
static void set_mounts(tc_server *srv)
{
    struct lws_http_mount *m = &srv->mounts[0];
    memset(srv->mounts, 0, sizeof srv->mounts);
    m->mountpoint = "/";
    m->mountpoint_len = 1;
    m->origin = "http";
    m->protocol = "http";
    m->origin_protocol = LWSMPRO_CALLBACK;
}

static void lws_log_line(int level, const char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    tc_log(level == LLL_ERR ? TC_LOG_ERROR : TC_LOG_WARN, "lws: %.*s", (int)len, line);
}

/* The pages load only their own scripts (no inline script), talk only to their
 * own origin, and may not be framed; invite codes ride in URLs, so no Referer.
 * Inline styles are allowed (a few style attributes in the pages' markup).
 * HSTS only on a certificate that is not self-signed: a browser would otherwise
 * remember to refuse the development certificate. */
static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

static bool cert_is_self_signed(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    bool self = !x || X509_check_issued(x, x) == X509_V_OK;
    X509_free(x);
    return self;
}

static void set_security_headers(tc_server *srv, const tc_config *cfg)
{
    static const char *const fixed[][2] = {
        {"content-security-policy:", csp},
        {"x-content-type-options:", "nosniff"},
        {"referrer-policy:", "no-referrer"},
        {"x-frame-options:", "DENY"},
        {"permissions-policy:", "camera=(self), microphone=(self), geolocation=()"},
        {"cross-origin-opener-policy:", "same-origin"},
    };
    int n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++, n++) {
        srv->headers[n].name = fixed[i][0];
        srv->headers[n].value = fixed[i][1];
    }
    if (!cert_is_self_signed(cfg->tls_cert)) {
        srv->headers[n].name = "strict-transport-security:";
        srv->headers[n++].value = "max-age=31536000";
    }
    for (int i = 0; i + 1 < n; i++)
        srv->headers[i].next = &srv->headers[i + 1];
}

static gboolean on_tick(gpointer data)
{
    tc_server *srv = data;
    tc_router_tick(srv->router, tc_server_now());
    return G_SOURCE_CONTINUE;
}

static gboolean on_history_tick(gpointer data)
{
    tc_server *srv = data;
    tc_stats_history_sample(&srv->history, srv->router, tc_server_now());
    tc_login_guard_prune(srv->logins, tc_server_now());
    return G_SOURCE_CONTINUE;
}

static gboolean on_summary_tick(gpointer data)
{
    tc_hub_send_summaries(data);
    return G_SOURCE_CONTINUE;
}

/* The invite-code key: from the configuration, else kept in the database. */
static int invite_key(const tc_config *cfg, tc_store *store, uint8_t key[TC_INVITE_KEY_LEN])
{
    if (cfg->invite_key_hex[0])
        return sodium_hex2bin(key, TC_INVITE_KEY_LEN, cfg->invite_key_hex,
                              strlen(cfg->invite_key_hex), NULL, NULL, NULL) == 0
                   ? 0
                   : -EINVAL;
    return tc_store_secret(store, "invite_key", key, TC_INVITE_KEY_LEN);
}

static bool start_lws(tc_server *srv)
{
    const tc_config *cfg = srv->cfg;
    set_mounts(srv);
    srv->idle_policy.secs_since_valid_ping = (uint16_t)(cfg->idle_timeout_s / 2);
    srv->idle_policy.secs_since_valid_hangup = (uint16_t)cfg->idle_timeout_s;
    void *foreign_loops[1] = {srv->loop};
    /* epoll instead of poll() over every connection on each loop round (see
     * loop.h); lws makes sockets only by accept, and ws_callback hears of each. */
    g_main_context_set_poll_func(g_main_loop_get_context(srv->loop), tc_loop_epoll_poll);
    tc_loop_epoll_resync();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->address;
    info.protocols = protocols;
    info.mounts = srv->mounts;
    info.vhost_name = "telecounter";
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_GLIB |
                   LWS_SERVER_OPTION_VALIDATE_UTF8;
    /* lws binds an IPv6 socket to an IPv4 address's any-address: an IPv4 address
     * is listened on with an IPv4 socket, so that only that address answers. */
    if (strchr(cfg->address, '.') && !strchr(cfg->address, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = foreign_loops;
    info.ssl_cert_filepath = cfg->tls_cert;
    info.ssl_private_key_filepath = cfg->tls_key;
    info.retry_and_idle_policy = &srv->idle_policy;
    set_security_headers(srv, cfg);
    info.headers = srv->headers;
    /* HTTP/1.1 only: over HTTP/2 a browser runs the WebSocket as a stream of the
     * page's connection, and a closed tab only resets that stream, which lws
     * 4.1 does not report: the server never learnt that an agent was gone. On
     * its own TCP connection, a closed tab is a closed socket. */
    info.alpn = "http/1.1";
    info.user = srv;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    srv->lws = lws_create_context(&info);
    if (!srv->lws) {
        tc_error("server: cannot listen on %s:%d with certificate %s (see the lws lines above)",
                 cfg->address, cfg->port, cfg->tls_cert);
        return false;
    }
    srv->vhost = lws_get_vhost_by_name(srv->lws, "telecounter");
    return true;
}

tc_server *tc_server_create(const tc_config *cfg, tc_store *store, GMainLoop *loop)
{
    uint8_t key[TC_INVITE_KEY_LEN];
    if (invite_key(cfg, store, key) != 0) {
        tc_error("server: no invite-code key (invites.key or the database)");
        return NULL;
    }
    tc_server *srv = g_new0(tc_server, 1);
    srv->cfg = cfg;
    srv->store = store;
    srv->loop = loop;
    srv->to_flush = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    srv->flush_source = tc_conn_attach_flush(srv, g_main_loop_get_context(loop));
    snprintf(srv->origin_list, sizeof srv->origin_list, "%s",
             cfg->allowed_origins[0] ? cfg->allowed_origins : cfg->public_url);
    srv->conns = tc_id_table_create(NULL);
    srv->customers = tc_id_table_create(NULL);
    srv->accounts = tc_id_table_create(NULL);
    srv->per_addr = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    srv->media_stats = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    srv->auth_tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    srv->kdf_pool = g_thread_pool_new(tc_login_check, srv, 2, FALSE, NULL);
    g_thread_pool_set_sort_function(srv->kdf_pool, tc_login_job_order, NULL);
    srv->logins = tc_login_guard_create(&(tc_login_limits){
        .max_failures = cfg->login_failures, .window_s = cfg->login_window_s, .trust_days = 30});
    tc_media_events media_events = tc_media_events_for(srv);
    srv->media = tc_media_create(cfg, &media_events);
    if (!srv->media) {
        tc_server_destroy(srv);
        return NULL;
    }
    srv->sends = tc_send_batch_create(cfg->io_uring);
    if (srv->sends && tc_send_batch_uses_io_uring(srv->sends))
        tc_info("server: WebSocket output goes out with io_uring, one submission per flush");
    else if (srv->sends)
        tc_info("server: WebSocket output goes out with one write per connection (io_uring %s)",
                cfg->io_uring ? "unavailable" : "off in the config");
    tc_router_events events = tc_hub_events(srv);
    srv->router = tc_router_create(cfg, store, &events, key);
    sodium_memzero(key, sizeof key);
    if (!start_lws(srv)) {
        tc_server_destroy(srv);
        return NULL;
    }
    srv->tick_source = g_timeout_add(200, on_tick, srv);
    srv->summary_source = g_timeout_add(1000, on_summary_tick, srv);
    tc_stats_history_sample(&srv->history, srv->router, tc_server_now());
    srv->history_source = g_timeout_add_seconds(60, on_history_tick, srv);
    tc_info("server: listening on https://%s:%d (public %s)", cfg->address, cfg->port,
            cfg->public_url);
    return srv;
}

void tc_server_shutdown(tc_server *srv)
{
    srv->shutting_down = true;
    tc_router_shutdown(srv->router, tc_server_now());
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, srv->conns);
    while (g_hash_table_iter_next(&it, &key, &value))
        tc_conn_close(value, LWS_CLOSE_STATUS_GOINGAWAY);
}

static void log_sends(const tc_send_batch *sends)
{
    if (!sends)
        return;
    tc_send_batch_counts n = tc_send_batch_counts_of(sends);
    tc_info("server: %" G_GUINT64_FORMAT " batched sends in %" G_GUINT64_FORMAT
            " system calls; %" G_GUINT64_FORMAT " left part unsent, %" G_GUINT64_FORMAT " failed",
            n.sends, n.system_calls, n.blocked, n.failed);
}

void tc_server_destroy(tc_server *srv)
{
    if (!srv)
        return;
    srv->shutting_down = true;
    if (srv->tick_source)
        g_source_remove(srv->tick_source);
    if (srv->summary_source)
        g_source_remove(srv->summary_source);
    if (srv->history_source)
        g_source_remove(srv->history_source);
    if (srv->flush_source)
        g_source_remove(srv->flush_source);
    if (srv->lws)
        lws_context_destroy(srv->lws); /* closes every connection: tc_conn_free */
    log_sends(srv->sends);
    tc_send_batch_destroy(srv->sends); /* after lws: its SSLs hold the BIOs */
    g_thread_pool_free(srv->kdf_pool, FALSE, TRUE);
    tc_login_guard_destroy(srv->logins);
    tc_router_destroy(srv->router);
    g_hash_table_destroy(srv->conns);
    g_hash_table_destroy(srv->customers);
    g_hash_table_destroy(srv->accounts);
    g_hash_table_destroy(srv->per_addr);
    tc_media_destroy(srv->media);
    g_hash_table_destroy(srv->media_stats);
    g_hash_table_destroy(srv->auth_tokens);
    g_array_free(srv->to_flush, TRUE);
    g_free(srv);
}

int tc_server_reload_tls(tc_server *srv)
{
    const tc_config *cfg = srv->cfg;
    if (!srv->ssl_ctx) {
        tc_warn("server: TLS context unknown, certificate not reloaded");
        return -ENOTSUP;
    }
    /* Check the pair on a scratch context first: a bad file must not leave the
     * live context half-changed. */
    SSL_CTX *probe = SSL_CTX_new(TLS_server_method());
    bool ok = probe && SSL_CTX_use_certificate_chain_file(probe, cfg->tls_cert) == 1 &&
              SSL_CTX_use_PrivateKey_file(probe, cfg->tls_key, SSL_FILETYPE_PEM) == 1 &&
              SSL_CTX_check_private_key(probe) == 1;
    SSL_CTX_free(probe);
    if (!ok || SSL_CTX_use_certificate_chain_file(srv->ssl_ctx, cfg->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(srv->ssl_ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        tc_error("server: certificate reload failed (%s, %s); keeping the old one", cfg->tls_cert,
                 cfg->tls_key);
        return -EINVAL;
    }
    tc_info("server: TLS certificate reloaded from %s", cfg->tls_cert);
    return 0;
}
