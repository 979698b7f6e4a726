/*
 * http.c: the HTTP endpoints that are not plain files: /healthz, /readyz,
 * GET /api/v1/stats/live (ops bearer token) and /i/<code> (the customer page,
 * whatever the code; the page redeems it), and POST /api/v1/evidence (a still
 * an agent took during a call, stored with its SHA-256). Also keeps the vhost's
 * SSL_CTX for certificate reloads.
 */
#include "server_internal.h"

#include "image_sniff.h"
#include "telecounter/log.h"
#include "telecounter/stats.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static int respond(struct lws *wsi, tc_http_pss *pss, unsigned status, const char *type, char *body)
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

static int text(struct lws *wsi, tc_http_pss *pss, unsigned status, const char *msg)
{
    return respond(wsi, pss, status, "text/plain; charset=utf-8", strdup(msg));
}

static const tc_auth_token *bearer(tc_server *srv, struct lws *wsi)
{
    char auth[256] = "";
    lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    const char *prefix = "Bearer ";
    return strncmp(auth, prefix, strlen(prefix)) == 0
               ? tc_auth_lookup(srv, auth + strlen(prefix), tc_server_now())
               : NULL;
}

static int stats_live(tc_server *srv, struct lws *wsi, tc_http_pss *pss)
{
    int64_t now = tc_server_now();
    const tc_auth_token *t = bearer(srv, wsi);
    if (!t)
        return text(wsi, pss, 401, "log in as ops and send Authorization: Bearer AUTH_TOKEN\n");
    if (strcmp(t->role, "ops") != 0)
        return text(wsi, pss, 403, "ops accounts only\n");
    json_t *stats =
        tc_stats_live(srv->cfg, srv->router, srv->store, &srv->history, srv->media_stats, now);
    char *body = json_dumps(stats, JSON_COMPACT);
    json_decref(stats);
    return respond(wsi, pss, 200, "application/json", body);
}

static const char *mime_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* Only plain relative names under web_root: no "..", no hidden files, no
 * backslashes or control bytes. */
static bool safe_path(const char *uri)
{
    if (uri[0] != '/' || strstr(uri, "/.") || strstr(uri, "//") || strchr(uri, '\\'))
        return false;
    for (const char *p = uri; *p; p++)
        if ((unsigned char)*p < 0x20)
            return false;
    return true;
}

/* The page a path names: /join, /join/..., /i/CODE -> the customer page;
 * /agent, /ops and / -> theirs; anything else is a file as named. */
static void page_path(const char *uri, char *out, size_t len)
{
    if (strcmp(uri, "/join") == 0 || strncmp(uri, "/join/", 6) == 0 || strncmp(uri, "/i/", 3) == 0)
        snprintf(out, len, "/customer/index.html");
    else if (strcmp(uri, "/agent") == 0 || strcmp(uri, "/ops") == 0 || uri[strlen(uri) - 1] == '/')
        snprintf(out, len, "%s%sindex.html", uri, uri[strlen(uri) - 1] == '/' ? "" : "/");
    else
        snprintf(out, len, "%s", uri);
}

static int serve_file(tc_server *srv, struct lws *wsi, tc_http_pss *pss, const char *uri)
{
    char rel[300], path[900];
    if (!safe_path(uri) || strlen(uri) >= 256)
        return text(wsi, pss, 404, "not found\n");
    page_path(uri, rel, sizeof rel);
    const char *type = mime_of(rel);
    snprintf(path, sizeof path, "%s%s", srv->cfg->web_root, rel);
    if (!type || !g_file_test(path, G_FILE_TEST_IS_REGULAR))
        return text(wsi, pss, 404, "not found\n");
    int n = lws_serve_http_file(wsi, path, type, NULL, 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

static void refuse_upload(tc_http_pss *pss, unsigned status, const char *msg)
{
    if (!pss->verdict) {
        pss->verdict = status;
        snprintf(pss->verdict_msg, sizeof pss->verdict_msg, "%s\n", msg);
    }
}

/* The agent is on that call now, or in its after-call work. */
static bool call_or_wrap_up(tc_server *srv, int64_t agent_id, int64_t session_id)
{
    tc_agent_info info;
    if (tc_router_agent_state(srv->router, agent_id, &info) != 0)
        return false;
    return info.call_session_id == session_id || info.acw_session_id == session_id;
}

/* Checks who uploads what before the body arrives; the verdict is answered
 * after it, so that the client reads a status rather than a reset. */
static void evidence_start(tc_server *srv, struct lws *wsi, tc_http_pss *pss)
{
    memset(pss, 0, sizeof *pss);
    const tc_auth_token *t = bearer(srv, wsi);
    char arg[48] = "", length[24] = "";
    tc_session_row row;
    lws_hdr_copy(wsi, pss->mime, sizeof pss->mime, WSI_TOKEN_HTTP_CONTENT_TYPE);
    lws_hdr_copy(wsi, length, sizeof length, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    const char *value = lws_get_urlarg_by_name(wsi, "session_id=", arg, (int)sizeof arg);
    if (value)
        pss->session_id = g_ascii_strtoll(value, NULL, 10);
    if (!t)
        refuse_upload(pss, 401, "log in and send Authorization: Bearer AUTH_TOKEN");
    else if (strcmp(t->role, "agent") != 0)
        refuse_upload(pss, 403, "agents only");
    else if (pss->session_id <= 0 || tc_store_session_get(srv->store, pss->session_id, &row) ||
             row.agent_id != t->account_id)
        refuse_upload(pss, 404, "no session of yours with that id");
    else if (!call_or_wrap_up(srv, t->account_id, pss->session_id))
        refuse_upload(pss, 409, "stills only during the call or its after-call work");
    else if (strcmp(pss->mime, "image/jpeg") != 0 && strcmp(pss->mime, "image/png") != 0)
        refuse_upload(pss, 400, "Content-Type must be image/jpeg or image/png");
    else if (g_ascii_strtoull(length, NULL, 10) > TC_EVIDENCE_MAX_BYTES)
        refuse_upload(pss, 413, "at most 8 MiB");
    if (t)
        pss->account_id = t->account_id;
    pss->upload = g_byte_array_new();
}

static void evidence_body(tc_http_pss *pss, const void *in, size_t len)
{
    if (pss->verdict || !pss->upload)
        return;
    if (pss->upload->len + len > TC_EVIDENCE_MAX_BYTES)
        refuse_upload(pss, 413, "at most 8 MiB");
    else
        g_byte_array_append(pss->upload, in, (guint)len);
}

static int evidence_done(tc_server *srv, struct lws *wsi, tc_http_pss *pss)
{
    if (!pss->verdict && pss->upload->len == 0)
        refuse_upload(pss, 400, "the body is empty");
    const char *kind = tc_image_sniff(pss->upload->data, pss->upload->len);
    if (!pss->verdict && (!kind || strcmp(kind, pss->mime) != 0))
        refuse_upload(pss, 400, "the body is not the image its Content-Type says");
    if (pss->verdict)
        return text(wsi, pss, pss->verdict, pss->verdict_msg);
    uint8_t digest[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(digest, pss->upload->data, pss->upload->len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    int64_t id = 0;
    int rc = tc_store_evidence_add(srv->store, pss->session_id, pss->account_id, tc_server_now(),
                                   pss->mime, pss->upload->data, pss->upload->len, hex, &id);
    if (rc)
        return text(wsi, pss, 500, "the still could not be stored\n");
    tc_store_audit(srv->store, tc_server_now(), pss->session_id, pss->account_id, "evidence", NULL);
    tc_info("session %" G_GINT64_FORMAT ": evidence %" G_GINT64_FORMAT " stored (%u bytes)",
            pss->session_id, id, pss->upload->len);
    char *body = g_strdup_printf("{\"id\":%" G_GINT64_FORMAT ",\"sha256\":\"%s\",\"bytes\":%u}", id,
                                 hex, pss->upload->len);
    int r = respond(wsi, pss, 201, "application/json", strdup(body));
    g_free(body);
    return r;
}

/* Not ready while stopping, or while the store cannot write (tc_store_health). */
static int readyz(tc_server *srv, struct lws *wsi, tc_http_pss *pss)
{
    char reason[160];
    if (srv->shutting_down)
        return text(wsi, pss, 503, "shutting down\n");
    if (tc_store_health(srv->store, g_get_monotonic_time() / 1000, reason, sizeof reason - 1) != 0)
        return text(wsi, pss, 503, strcat(reason, "\n"));
    return text(wsi, pss, 200, "ready\n");
}

static int route(tc_server *srv, struct lws *wsi, tc_http_pss *pss)
{
    char uri[256] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_POST_URI) > 0) {
        if (strcmp(uri, "/api/v1/evidence") != 0)
            return text(wsi, pss, 404, "not found\n");
        evidence_start(srv, wsi, pss);
        return 0; /* the body follows */
    }
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return text(wsi, pss, 405, "only GET and the evidence upload are served here\n");
    if (strcmp(uri, "/healthz") == 0)
        return text(wsi, pss, 200, "ok\n");
    if (strcmp(uri, "/readyz") == 0)
        return readyz(srv, wsi, pss);
    if (strcmp(uri, "/api/v1/stats/live") == 0)
        return stats_live(srv, wsi, pss);
    return serve_file(srv, wsi, pss, uri);
}

int tc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    tc_http_pss *pss = user;
    tc_server *srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        /* user is the vhost's SSL_CTX. Idle connections (most waiting customers)
         * give back their TLS buffers: tens of KiB each. */
        if (srv)
            srv->ssl_ctx = user;
        SSL_CTX_set_mode((SSL_CTX *)user, SSL_MODE_RELEASE_BUFFERS);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return tc_server_confirm_upgrade(srv, wsi);
    case LWS_CALLBACK_HTTP:
        return srv && pss ? route(srv, wsi, pss) : -1;
    case LWS_CALLBACK_HTTP_BODY:
        if (pss)
            evidence_body(pss, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return pss && pss->upload ? evidence_done(srv, wsi, pss) : -1;
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
            if (pss->upload)
                g_byte_array_free(pss->upload, TRUE);
            pss->upload = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
