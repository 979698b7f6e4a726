/*
 * http.c: the HTTP endpoints that are not plain files: /healthz, /readyz,
 * GET /api/v1/stats/live (ops bearer token) and /i/<code> (the customer page,
 * whatever the code; the page redeems it). Also protocol 0's duties for lws:
 * keeping the vhost's SSL_CTX for certificate reloads.
 */
#include "server_internal.h"

#include "telecounter/log.h"
#include "telecounter/stats.h"

#include <stdlib.h>
#include <string.h>

typedef struct http_pss {
    char *body; /* malloc'd, sent on the writeable callback */
    size_t len;
} http_pss;

static int respond(struct lws *wsi, http_pss *pss, unsigned status, const char *type, char *body)
{
    uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    size_t len = strlen(body);
    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        free(body);
        return 1;
    }
    pss->body = body;
    pss->len = len;
    lws_callback_on_writable(wsi);
    return 0;
}

static int text(struct lws *wsi, http_pss *pss, unsigned status, const char *msg)
{
    return respond(wsi, pss, status, "text/plain; charset=utf-8", strdup(msg));
}

static int stats_live(tc_server *srv, struct lws *wsi, http_pss *pss)
{
    char auth[256] = "";
    lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    const char *prefix = "Bearer ";
    int64_t now = tc_server_now();
    const tc_auth_token *t = strncmp(auth, prefix, strlen(prefix)) == 0
                                 ? tc_auth_lookup(srv, auth + strlen(prefix), now)
                                 : NULL;
    if (!t)
        return text(wsi, pss, 401, "log in as ops and send Authorization: Bearer AUTH_TOKEN\n");
    if (strcmp(t->role, "ops") != 0)
        return text(wsi, pss, 403, "ops accounts only\n");
    json_t *stats = tc_stats_live(srv->cfg, srv->router, srv->store, now);
    char *body = json_dumps(stats, JSON_COMPACT);
    json_decref(stats);
    return respond(wsi, pss, 200, "application/json", body);
}

static int customer_page(tc_server *srv, struct lws *wsi)
{
    char path[600];
    snprintf(path, sizeof path, "%s/customer/index.html", srv->cfg->web_root);
    int n = lws_serve_http_file(wsi, path, "text/html", NULL, 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

static int route(tc_server *srv, struct lws *wsi, http_pss *pss)
{
    char uri[256] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return text(wsi, pss, 405, "only GET is served here\n");
    if (strcmp(uri, "/healthz") == 0)
        return text(wsi, pss, 200, "ok\n");
    if (strcmp(uri, "/readyz") == 0)
        return srv->shutting_down ? text(wsi, pss, 503, "shutting down\n")
                                  : text(wsi, pss, 200, "ready\n");
    if (strcmp(uri, "/api/v1/stats/live") == 0)
        return stats_live(srv, wsi, pss);
    if (strncmp(uri, "/i/", 3) == 0)
        return customer_page(srv, wsi);
    return text(wsi, pss, 404, "not found\n");
}

int tc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    http_pss *pss = user;
    tc_server *srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        /* user is the vhost's SSL_CTX */
        if (srv)
            srv->ssl_ctx = user;
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return tc_server_confirm_upgrade(srv, wsi);
    case LWS_CALLBACK_HTTP:
        return srv ? route(srv, wsi, pss) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!pss || !pss->body)
            return 0;
        size_t n = pss->len;
        char *buf = malloc(LWS_PRE + n + 1);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, pss->body, n);
        free(pss->body);
        pss->body = NULL;
        int w = lws_write(wsi, (unsigned char *)buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
        free(buf);
        if (w < 0 || lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            free(pss->body);
            pss->body = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
