/*
 * accounts.c: what agents and ops staff ask for: login (the Argon2id check runs
 * on a worker thread, so that a login never stalls the loop; the result comes
 * back by connection id), agent states, accepting and declining rings, outcomes,
 * invite codes, statistics, and the queue summary subscription.
 */
#include "server_internal.h"

#include "telecounter/log.h"
#include "telecounter/password.h"
#include "telecounter/random.h"
#include "telecounter/stats.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

typedef struct login_job {
    tc_server *srv;
    uint64_t conn_id;
    json_t *req_id;
    tc_account account;
    bool found;
    bool trusted;  /* the account logged in from this address before: checked first */
    uint64_t seq;  /* arrival order among equals */
    char addr[64]; /* the client's, for the login guard */
    char password[1025];
    bool ok;
} login_job;

/* The KDF pool's order: trusted tries first, then by arrival. */
gint tc_login_job_order(gconstpointer a, gconstpointer b, gpointer user);
gint tc_login_job_order(gconstpointer a, gconstpointer b, gpointer user)
{
    (void)user;
    const login_job *x = a, *y = b;
    if (x->trusted != y->trusted)
        return x->trusted ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Worker thread: only the job's own memory is touched here. */
void tc_login_check(gpointer data, gpointer user);

/* A hash of a random password: unknown users cost as much as known ones. */
static const char *dummy_hash(void)
{
    static char hash[TC_PASSWORD_HASH_MAX];
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        char pw[33];
        tc_random_hex(pw, 16);
        tc_password_hash(pw, hash);
        g_once_init_leave(&done, 1);
    }
    return hash;
}

static gboolean login_done(gpointer data);

void tc_login_check(gpointer data, gpointer user)
{
    (void)user;
    login_job *job = data;
    const char *hash = job->found ? job->account.password_hash : dummy_hash();
    bool match = tc_password_verify(hash, job->password);
    job->ok = job->found && match && !job->account.disabled;
    sodium_memzero(job->password, sizeof job->password);
    /* default priority, not idle: under load (a flood) the loop is never idle, and
     * an idle-priority result waited until it was (a known agent waited ~10 s) */
    g_idle_add_full(G_PRIORITY_DEFAULT, login_done, job, NULL);
}

static gboolean token_of_account(gpointer key, gpointer value, gpointer user)
{
    (void)key;
    return ((tc_auth_token *)value)->account_id == *(const int64_t *)user;
}

/* An account's bearer tokens end with its logout and with its next login: a
 * token must not outlive the session that it was given to. */
static void revoke_tokens(tc_server *srv, int64_t account_id)
{
    g_hash_table_foreach_remove(srv->auth_tokens, token_of_account, &account_id);
}

static char *new_auth_token(tc_server *srv, const tc_account *a)
{
    revoke_tokens(srv, a->id);
    char token[33];
    tc_random_hex(token, 16);
    tc_auth_token *t = g_new0(tc_auth_token, 1);
    t->account_id = a->id;
    snprintf(t->role, sizeof t->role, "%s", a->role);
    t->expires_at = tc_server_now() + (int64_t)srv->cfg->auth_token_ttl_s * 1000;
    g_hash_table_insert(srv->auth_tokens, g_strdup(token), t);
    return g_strdup(token);
}

const tc_auth_token *tc_auth_lookup(tc_server *srv, const char *token, int64_t now)
{
    tc_auth_token *t = g_hash_table_lookup(srv->auth_tokens, token);
    if (t && t->expires_at <= now) {
        g_hash_table_remove(srv->auth_tokens, token);
        return NULL;
    }
    return t;
}

static json_t *skills_json(const char *skills)
{
    json_t *a = json_array();
    gchar **parts = g_strsplit(skills, ",", -1);
    for (gchar **p = parts; *p; p++)
        if (*g_strstrip(*p))
            json_array_append_new(a, json_string(*p));
    g_strfreev(parts);
    return a;
}

/* Binds the connection to the account, replacing an older connection of it. */
static void bind_account(tc_conn *c, const tc_account *a)
{
    tc_server *srv = c->srv;
    tc_conn *old = tc_id_table_get(srv->accounts, a->id);
    if (old && old != c) {
        tc_conn_event(old, tc_protocol_event("session.replaced", NULL));
        old->role = TC_ROLE_ANON; /* its close must not log the agent out */
        tc_conn_close(old, LWS_CLOSE_STATUS_NORMAL);
    }
    c->role = strcmp(a->role, "ops") == 0 ? TC_ROLE_OPS : TC_ROLE_AGENT;
    c->account_id = a->id;
    snprintf(c->username, sizeof c->username, "%s", a->username);
    snprintf(c->display_name, sizeof c->display_name, "%s",
             a->display_name[0] ? a->display_name : a->username);
    tc_id_table_put(srv->accounts, a->id, c);
}

/* What the console showed of its call or after-call work, for a console that
 * logs in again (a reload, a second tab): "call" or "after_call". */
static void add_call_fields(tc_server *srv, const tc_agent_info *info, json_t *fields)
{
    int64_t id = info->call_session_id ? info->call_session_id : info->acw_session_id;
    tc_session_info s;
    if (!id || tc_router_session_info(srv->router, id, &s) != 0)
        return;
    json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "session_id", (json_int_t)s.id, "desk", s.desk,
                          "case_ref", s.case_ref, "note", s.note);
    if (s.answered_at) {
        json_object_set_new(o, "waited_s", json_integer((s.answered_at - s.queued_at) / 1000));
        json_object_set_new(o, "answered_at", json_integer(s.answered_at));
    }
    if (info->call_session_id) {
        json_object_set_new(o, "peer", json_string(s.customer_away ? "reconnecting" : "connected"));
        if (s.customer_away)
            json_object_set_new(o, "peer_until", json_integer(s.away_until));
        json_object_set_new(fields, "call", o);
    } else {
        json_object_set_new(o, "until", json_integer(info->acw_until));
        json_object_set_new(fields, "after_call", o);
    }
}

static void login_succeeded(tc_conn *c, login_job *job)
{
    tc_request req = {.type = TC_MSG_LOGIN, .id = job->req_id};
    const tc_account *a = &job->account;
    bind_account(c, a);
    tc_agent_info info = {.state = TC_AGENT_OFFLINE};
    c->in_request = true;
    if (c->role == TC_ROLE_AGENT)
        tc_router_agent_login(c->srv->router, a, tc_server_now(), &info);
    char *token = new_auth_token(c->srv, a);
    json_t *account = json_pack("{s:s, s:s, s:s, s:o}", "username", a->username, "name",
                                c->display_name, "role", a->role, "skills", skills_json(a->skills));
    json_t *fields = json_pack("{s:o, s:s, s:s}", "account", account, "auth_token", token, "state",
                               tc_agent_state_name(info.state));
    add_call_fields(c->srv, &info, fields);
    g_free(token);
    tc_conn_reply(c, tc_protocol_reply(&req, fields));
    c->in_request = false;
    char *event;
    while ((event = g_queue_pop_head(&c->deferred)) != NULL)
        tc_conn_event(c, event);
    /* a console that logs in again while it rings is rung again, with what is left */
    tc_ring_info ring;
    if (info.state == TC_AGENT_RINGING &&
        tc_router_ring_of(c->srv->router, a->id, tc_server_now(), &ring) == 0)
        tc_hub_send_ring(c, &ring);
    tc_info("login: %s (%s) from %s", a->username, a->role, c->addr);
}

static gboolean login_done(gpointer data)
{
    login_job *job = data;
    tc_server *srv = job->srv;
    int64_t account_id = job->found ? job->account.id : 0;
    srv->kdf_pending--;
    if (job->ok)
        tc_login_guard_succeeded(srv->logins, job->addr, account_id, tc_server_now());
    else
        tc_login_guard_failed(srv->logins, job->addr, account_id, tc_server_now());
    tc_conn *c = tc_conn_by_id(job->srv, job->conn_id);
    if (c) {
        c->login_pending = false;
        if (job->ok) {
            login_succeeded(c, job);
        } else {
            tc_info("login: refused for '%s' from %s", job->account.username, c->addr);
            tc_conn_error(c, job->req_id, "bad_credentials", "wrong username or password");
        }
    }
    json_decref(job->req_id);
    sodium_memzero(&job->account, sizeof job->account);
    g_free(job);
    return G_SOURCE_REMOVE;
}

static void refuse_login(tc_conn *c, tc_request *req, const char *message, int retry_after_s)
{
    tc_info("login: throttled from %s (retry after %d s)", c->addr, retry_after_s);
    tc_conn_reply(c, tc_protocol_error_text(req->id, "throttled", message,
                                            json_pack("{s:i}", "retry_after_s", retry_after_s)));
}

void tc_handle_login(tc_conn *c, tc_request *req)
{
    tc_server *srv = c->srv;
    if (c->login_pending) {
        tc_conn_error(c, req->id, "bad_state", "a login is already being checked");
        return;
    }
    tc_account account;
    const char *username = tc_request_str(req, "username", "");
    bool found = tc_store_account_get(srv->store, username, &account) == 0;
    int64_t now = tc_server_now(), account_id = found ? account.id : 0;
    int retry_after_s = 0;
    if (tc_login_guard_check(srv->logins, c->addr, account_id, now, &retry_after_s) != 0) {
        sodium_memzero(&account, sizeof account);
        refuse_login(c, req, "too many failed logins; try again later", retry_after_s);
        return;
    }
    bool trusted = tc_login_guard_trusted(srv->logins, c->addr, account_id, now);
    /* Bounded: past login_queue waiting checks, only trusted tries get in. */
    if (!trusted && srv->kdf_pending >= srv->cfg->login_queue) {
        sodium_memzero(&account, sizeof account);
        refuse_login(c, req, "the server is busy checking logins; try again shortly", 1);
        return;
    }
    login_job *job = g_new0(login_job, 1);
    job->srv = srv;
    job->conn_id = c->id;
    job->req_id = json_incref(req->id);
    job->found = found;
    job->account = account;
    sodium_memzero(&account, sizeof account);
    if (!job->found)
        snprintf(job->account.username, sizeof job->account.username, "%s", username);
    job->trusted = trusted;
    job->seq = ++srv->kdf_seq;
    snprintf(job->addr, sizeof job->addr, "%s", c->addr);
    snprintf(job->password, sizeof job->password, "%s", tc_request_str(req, "password", ""));
    c->login_pending = true;
    srv->kdf_pending++;
    g_thread_pool_push(srv->kdf_pool, job, NULL);
}

void tc_handle_logout(tc_conn *c, tc_request *req)
{
    if (c->role == TC_ROLE_AGENT) {
        int rc = tc_router_agent_logout(c->srv->router, c->account_id, tc_server_now());
        if (rc) {
            tc_reply_router_error(c, req, rc);
            return;
        }
    }
    tc_id_table_remove_if(c->srv->accounts, c->account_id, c);
    revoke_tokens(c->srv, c->account_id);
    c->role = TC_ROLE_ANON;
    c->account_id = 0;
    c->watching = false;
    tc_conn_reply(c, tc_protocol_reply(req, NULL));
}

void tc_handle_agent_state(tc_conn *c, tc_request *req)
{
    const char *want = tc_request_str(req, "state", "");
    tc_agent_state state;
    if (strcmp(want, "available") == 0)
        state = TC_AGENT_AVAILABLE;
    else if (strcmp(want, "not_ready") == 0)
        state = TC_AGENT_NOT_READY;
    else {
        tc_conn_error(c, req->id, "bad_request", "field 'state' must be available or not_ready");
        return;
    }
    const char *reason = tc_request_str(req, "reason", "");
    int rc =
        tc_router_agent_set_state(c->srv->router, c->account_id, state, reason, tc_server_now());
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_conn_reply(c, tc_protocol_reply(req, json_pack("{s:s, s:s}", "state", want, "reason",
                                                      state == TC_AGENT_NOT_READY ? reason : "")));
}

void tc_handle_agent_accept(tc_conn *c, tc_request *req)
{
    int64_t session_id = tc_request_int(req, "session_id", 0);
    int64_t now = tc_server_now();
    tc_session_info s;
    int rc = tc_router_agent_accept(c->srv->router, c->account_id, session_id, now, &s);
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_conn_reply(c, tc_protocol_reply(req, json_pack("{s:I, s:s, s:s, s:s, s:I}", "session_id",
                                                      (json_int_t)s.id, "desk", s.desk, "case_ref",
                                                      s.case_ref, "note", s.note, "waited_s",
                                                      (json_int_t)((now - s.queued_at) / 1000))));
}

void tc_handle_agent_decline(tc_conn *c, tc_request *req)
{
    int64_t session_id = tc_request_int(req, "session_id", 0);
    int rc = tc_router_agent_decline(c->srv->router, c->account_id, session_id, tc_server_now());
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_conn_reply(c,
                  tc_protocol_reply(req, json_pack("{s:I}", "session_id", (json_int_t)session_id)));
}

void tc_handle_agent_outcome(tc_conn *c, tc_request *req)
{
    int64_t session_id = tc_request_int(req, "session_id", 0);
    tc_agent_state state = TC_AGENT_OFFLINE;
    int rc = tc_router_agent_outcome(c->srv->router, c->account_id, session_id,
                                     tc_request_str(req, "code", ""),
                                     tc_request_str(req, "notes", ""), tc_server_now(), &state);
    if (rc == -ENOENT || rc == -EPERM) {
        tc_conn_error(c, req->id, "not_found", "no session of yours with that id");
        return;
    }
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_conn_reply(
        c, tc_protocol_reply(req, json_pack("{s:I, s:s}", "session_id", (json_int_t)session_id,
                                            "state", tc_agent_state_name(state))));
}

void tc_handle_agent_extend_wrap_up(tc_conn *c, tc_request *req)
{
    int64_t session_id = tc_request_int(req, "session_id", 0), until = 0;
    int rc = tc_router_agent_extend_wrap_up(c->srv->router, c->account_id, session_id,
                                            tc_server_now(), &until);
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_conn_reply(
        c, tc_protocol_reply(req, json_pack("{s:I, s:I}", "session_id", (json_int_t)session_id,
                                            "until", (json_int_t)until)));
}

void tc_handle_invite_create(tc_conn *c, tc_request *req)
{
    const tc_config *cfg = c->srv->cfg;
    const char *desk = tc_request_str(req, "desk", "urgent_sim");
    int valid_s = (int)tc_request_int(req, "valid_s", cfg->invite_validity_s);
    if (valid_s > cfg->invite_max_validity_s) {
        tc_conn_error(c, req->id, "bad_request", "field 'valid_s' is above invites.max_validity_s");
        return;
    }
    char code[16];
    int64_t expires_at;
    int rc = tc_router_invite_create(
        c->srv->router, c->account_id, desk, tc_request_str(req, "case_ref", ""),
        tc_request_str(req, "note", ""), valid_s, tc_server_now(), code, &expires_at);
    if (rc == -ENOENT) {
        tc_conn_error(c, req->id, "unknown_desk", "no such desk");
        return;
    }
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    char *link = g_strdup_printf("%s/i/%s", cfg->public_url, code);
    tc_conn_reply(c, tc_protocol_reply(req, json_pack("{s:s, s:s, s:s, s:I, s:i}", "code", code,
                                                      "link", link, "desk", desk, "expires_at",
                                                      (json_int_t)expires_at, "valid_s", valid_s)));
    g_free(link);
}

void tc_handle_stats_live(tc_conn *c, tc_request *req)
{
    tc_server *srv = c->srv;
    json_t *stats = tc_stats_live(srv->cfg, srv->router, srv->store, &srv->history,
                                  srv->media_stats, tc_server_now());
    tc_conn_reply(c, tc_protocol_reply(req, json_pack("{s:o}", "stats", stats)));
}

void tc_handle_queue_watch(tc_conn *c, tc_request *req)
{
    c->watching = true;
    json_t *desks = tc_stats_queue_summary(c->srv->router, tc_server_now());
    tc_conn_reply(c, tc_protocol_reply(req, json_pack("{s:o}", "desks", desks)));
}
