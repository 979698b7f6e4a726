/*
 * router.c: the session lifecycle. A session is created on join or redemption,
 * queued, rung, answered and ended here; queue order and matching are queue.c,
 * agent states agents.c, codes invites.c. Every transition is written to the
 * store before the events that announce it.
 */
#include "router_internal.h"

#include "telecounter/log.h"
#include "telecounter/random.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

const char *tc_agent_state_name(tc_agent_state s)
{
    static const char *const names[] = {"offline", "not_ready", "available",
                                        "ringing", "on_call",   "after_call_work"};
    return (unsigned)s < TC_AGENT_STATE_COUNT ? names[s] : "offline";
}

const char *tc_session_state_name(tc_session_state s)
{
    static const char *const names[] = {"queued", "ringing", "answered", "ended"};
    return (unsigned)s <= TC_SESSION_ENDED ? names[s] : "ended";
}

const char *tc_end_reason_name(tc_end_reason r)
{
    static const char *const names[] = {"",       "completed",      "abandoned",
                                        "missed", "customer_gone",  "agent_gone",
                                        "failed", "server_shutdown"};
    return (unsigned)r < TC_END_REASON_COUNT ? names[r] : "";
}

tc_router *tc_router_create(const tc_config *cfg, tc_store *store, const tc_router_events *events,
                            const uint8_t *invite_key)
{
    tc_router *r = g_new0(tc_router, 1);
    r->cfg = cfg;
    r->store = store;
    r->ev = *events;
    memcpy(r->invite_key, invite_key, TC_INVITE_KEY_LEN);
    r->sessions = tc_id_table_create(g_free);
    r->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    r->agents = tc_id_table_create(g_free);
    r->guesses = tc_id_table_create(g_free);
    r->by_addr = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    r->failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tc_addr_failures_free);
    for (int i = 0; i < cfg->desk_count; i++) {
        g_queue_init(&r->desks[i].queue);
        tc_queue_update_handle_time(r, i);
    }
    return r;
}

void tc_router_destroy(tc_router *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->cfg->desk_count; i++)
        g_queue_clear(&r->desks[i].queue);
    g_hash_table_destroy(r->tokens);
    g_hash_table_destroy(r->sessions);
    g_hash_table_destroy(r->agents);
    g_hash_table_destroy(r->guesses);
    g_hash_table_destroy(r->by_addr);
    g_hash_table_destroy(r->failures);
    sodium_memzero(r->invite_key, sizeof r->invite_key);
    g_free(r);
}

tc_session *tc_router_find_session(tc_router *r, int64_t id)
{
    return tc_id_table_get(r->sessions, id);
}

tc_agent *tc_router_find_agent(tc_router *r, int64_t id)
{
    return tc_id_table_get(r->agents, id);
}

void tc_router_fill_info(tc_router *r, const tc_session *s, int64_t now, tc_session_info *out)
{
    memset(out, 0, sizeof *out);
    out->id = s->id;
    snprintf(out->desk, sizeof out->desk, "%s", r->cfg->desks[s->desk]);
    out->state = s->state;
    out->end_reason = s->end_reason;
    out->priority = s->priority;
    snprintf(out->case_ref, sizeof out->case_ref, "%s", s->case_ref);
    snprintf(out->note, sizeof out->note, "%s", s->note);
    out->queued_at = s->queued_at;
    out->answered_at = s->answered_at;
    out->agent_id = s->agent_id;
    if (s->queue_link) {
        out->position = tc_queue_position(r, s);
        out->wait_s =
            s->state == TC_SESSION_QUEUED ? tc_queue_wait_s(r, s->desk, out->position, now) : 0;
    }
    tc_agent *a = s->agent_id ? tc_router_find_agent(r, s->agent_id) : NULL;
    if (a && s->state == TC_SESSION_ANSWERED)
        snprintf(out->agent_name, sizeof out->agent_name, "%s", a->name);
    if (s->state == TC_SESSION_ANSWERED) {
        int64_t window_ms = (int64_t)r->cfg->resume_window_s * 1000;
        out->customer_away = !s->connected;
        out->agent_away = !a || !a->connected;
        if (out->customer_away)
            out->away_until = s->disconnected_at + window_ms;
        else if (a && !a->connected)
            out->away_until = a->disconnected_at + window_ms;
    }
    out->agents = tc_queue_agents(r, s->desk);
}

static void token_hash_hex(const char *token, char out[65])
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const uint8_t *)token, strlen(token));
    sodium_bin2hex(out, 65, digest, sizeof digest);
}

int tc_router_session_start(tc_router *r, const char *addr, int desk, int priority,
                            int64_t invite_id, const char *case_ref, const char *note, int64_t now,
                            tc_join_result *out)
{
    char token[TC_TOKEN_HEX_LEN + 1], token_hash[65];
    tc_random_hex(token, TC_TOKEN_HEX_LEN / 2);
    token_hash_hex(token, token_hash);
    int64_t id;
    int rc = tc_store_session_add(r->store, r->cfg->desks[desk], priority, invite_id, case_ref,
                                  token_hash, now, &id);
    if (rc)
        return rc;
    tc_session *s = g_new0(tc_session, 1);
    s->id = id;
    s->desk = desk;
    s->state = TC_SESSION_QUEUED;
    s->priority = priority;
    s->invite_id = invite_id;
    snprintf(s->case_ref, sizeof s->case_ref, "%s", case_ref ? case_ref : "");
    snprintf(s->note, sizeof s->note, "%s", note ? note : "");
    memcpy(s->token, token, sizeof token);
    s->queued_at = now;
    snprintf(s->addr, sizeof s->addr, "%s", addr);
    tc_admission_opened(r, s->addr, now);
    s->connected = true;
    s->shown_position = -1;
    tc_id_table_put(r->sessions, s->id, s);
    g_hash_table_insert(r->tokens, g_strdup(s->token), s);
    tc_queue_add(r, s, false);
    tc_info("session %" PRId64 ": queued at %s%s", id, r->cfg->desks[desk],
            priority ? " (invite)" : "");

    tc_router_fill_info(r, s, now, &out->session);
    memcpy(out->token, token, sizeof token);
    tc_queue_shown(s, &out->session, now);
    tc_queue_refresh(r, desk, now);
    tc_queue_match(r, now);
    if (r->ev.queues_changed)
        r->ev.queues_changed(r->ev.user);
    return 0;
}

int tc_router_customer_join(tc_router *r, const char *desk, const char *client_addr, int64_t now,
                            tc_join_result *out, int *retry_after_s)
{
    int d = tc_config_desk_index(r->cfg, desk);
    if (d < 0)
        return -ENOENT;
    int rc = tc_admission_check(r, client_addr, now, retry_after_s);
    if (rc)
        return rc;
    return tc_router_session_start(r, client_addr, d, 0, 0, "", "", now, out);
}

int tc_router_session_finish(tc_router *r, tc_session *s, tc_end_reason reason, int64_t now)
{
    if (s->state == TC_SESSION_ENDED)
        return -ESTALE;
    int rc = tc_store_session_ended(r->store, s->id, tc_end_reason_name(reason), now);
    if (rc && rc != -EALREADY)
        return rc;
    tc_session_state was = s->state;
    tc_admission_closed(r, s->addr);
    /* Out of the queue first, so that an agent freed by the withdrawal is not
     * rung for this very session again. */
    tc_queue_remove(r, s);
    if (was == TC_SESSION_RINGING)
        tc_queue_ring_withdraw(r, s, "customer_left", now);
    s->state = TC_SESSION_ENDED;
    s->end_reason = reason;
    s->ended_at = now;
    tc_info("session %" PRId64 ": ended, %s", s->id, tc_end_reason_name(reason));

    int64_t agent_id = was == TC_SESSION_ANSWERED ? s->agent_id : 0;
    if (r->ev.ended)
        r->ev.ended(r->ev.user, s->id, agent_id, reason);
    tc_agent *a = agent_id ? tc_router_find_agent(r, agent_id) : NULL;
    if (a && a->session_id == s->id && a->state == TC_AGENT_ON_CALL) {
        tc_queue_update_handle_time(r, s->desk);
        if (r->cfg->after_call_work_s > 0)
            tc_agent_set(r, a, TC_AGENT_AFTER_CALL_WORK, "",
                         now + (int64_t)r->cfg->after_call_work_s * 1000, now, true);
        else
            tc_agent_set(r, a, TC_AGENT_AVAILABLE, "", 0, now, true);
    }
    tc_queue_refresh(r, s->desk, now);
    tc_queue_match(r, now);
    if (r->ev.queues_changed)
        r->ev.queues_changed(r->ev.user);
    return 0;
}

static tc_end_reason reason_from_name(const char *name)
{
    for (int i = TC_END_COMPLETED; i < TC_END_REASON_COUNT; i++)
        if (strcmp(name, tc_end_reason_name((tc_end_reason)i)) == 0)
            return (tc_end_reason)i;
    return TC_END_FAILED;
}

/* A session the router no longer holds (ended long ago, or before a restart),
 * from the store: it can still be rated, and resuming it says how it ended. */
static int stored_session(tc_router *r, const char *token, tc_session_row *row)
{
    char hash[65];
    token_hash_hex(token, hash);
    return tc_store_session_by_token(r->store, hash, row) == 0 ? 0 : -ENOENT;
}

int tc_router_customer_resume(tc_router *r, const char *token, int64_t now, tc_session_info *out)
{
    tc_session *s = g_hash_table_lookup(r->tokens, token);
    tc_session_row row;
    if (!s && stored_session(r, token, &row) == 0) {
        memset(out, 0, sizeof *out);
        out->id = row.id;
        snprintf(out->desk, sizeof out->desk, "%s", row.desk);
        out->state = TC_SESSION_ENDED;
        out->end_reason = row.end_reason[0] ? reason_from_name(row.end_reason) : TC_END_FAILED;
        return 0;
    }
    if (!s)
        return -ENOENT;
    if (s->state != TC_SESSION_ENDED) {
        bool was_away = !s->connected;
        s->connected = true;
        s->disconnected_at = 0;
        tc_info("session %" PRId64 ": customer resumed", s->id);
        if (was_away)
            tc_presence_changed(r, s, TC_SIDE_CUSTOMER, true, now);
    }
    tc_router_fill_info(r, s, now, out);
    tc_queue_shown(s, out, now);
    tc_queue_match(r, now);
    return 0;
}

int tc_router_session_by_token(tc_router *r, const char *token, int64_t *session_id_out)
{
    tc_session *s = g_hash_table_lookup(r->tokens, token);
    tc_session_row row;
    if (s)
        *session_id_out = s->id;
    else if (stored_session(r, token, &row) == 0)
        *session_id_out = row.id;
    else
        return -ENOENT;
    return 0;
}

void tc_router_customer_disconnected(tc_router *r, int64_t session_id, int64_t now)
{
    tc_session *s = tc_router_find_session(r, session_id);
    if (!s || s->state == TC_SESSION_ENDED || !s->connected)
        return;
    s->connected = false;
    s->disconnected_at = now;
    tc_presence_changed(r, s, TC_SIDE_CUSTOMER, false, now);
}

int tc_router_customer_leave(tc_router *r, int64_t session_id, int64_t now,
                             tc_end_reason *reason_out)
{
    tc_session *s = tc_router_find_session(r, session_id);
    if (!s)
        return -ENOENT;
    tc_end_reason reason = s->state == TC_SESSION_ANSWERED ? TC_END_COMPLETED : TC_END_ABANDONED;
    int rc = tc_router_session_finish(r, s, reason, now);
    if (rc == 0 && reason_out)
        *reason_out = reason;
    return rc;
}

int tc_router_customer_rate(tc_router *r, int64_t session_id, int rating, const char *comment,
                            int64_t now)
{
    /* Not in memory: ended before a restart; the store knows whether it ended. */
    tc_session *s = tc_router_find_session(r, session_id);
    if (s && s->state != TC_SESSION_ENDED)
        return -EAGAIN;
    int rc = tc_store_session_rate(r->store, session_id, rating, comment ? comment : "");
    if (rc == 0)
        tc_store_audit(r->store, now, session_id, 0, "rated", NULL);
    return rc;
}

int tc_router_hangup(tc_router *r, int64_t session_id, int64_t now)
{
    tc_session *s = tc_router_find_session(r, session_id);
    if (!s)
        return -ENOENT;
    if (s->state == TC_SESSION_ENDED)
        return -ESTALE;
    if (s->state != TC_SESSION_ANSWERED)
        return tc_router_session_finish(r, s, TC_END_ABANDONED, now);
    return tc_router_session_finish(r, s, TC_END_COMPLETED, now);
}

int tc_router_end(tc_router *r, int64_t session_id, tc_end_reason reason, int64_t now)
{
    tc_session *s = tc_router_find_session(r, session_id);
    if (!s)
        return -ENOENT;
    return tc_router_session_finish(r, s, reason, now);
}

int tc_router_session_info(tc_router *r, int64_t session_id, tc_session_info *out)
{
    tc_session *s = tc_router_find_session(r, session_id);
    if (!s)
        return -ENOENT;
    tc_router_fill_info(r, s, 0, out);
    return 0;
}

/* Rings past their deadline fail; sessions whose customer stayed away past the
 * window end; ended ones past TC_ENDED_KEEP_MS are forgotten. Collected first,
 * acted on after, because acting changes the table. */
static void sessions_tick(tc_router *r, int64_t now)
{
    int64_t window_ms = (int64_t)r->cfg->resume_window_s * 1000;
    GPtrArray *rings = g_ptr_array_new(), *gone = g_ptr_array_new();
    GPtrArray *expired = g_ptr_array_new(), *too_long = g_ptr_array_new();
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_session *s = value;
        if (s->state == TC_SESSION_ENDED) {
            if (now - s->ended_at > TC_ENDED_KEEP_MS)
                g_ptr_array_add(expired, s);
        } else if (!s->connected && now - s->disconnected_at >= window_ms) {
            g_ptr_array_add(gone, s);
        } else if (s->state == TC_SESSION_RINGING && now >= s->ring_deadline) {
            g_ptr_array_add(rings, s);
        } else if (s->state == TC_SESSION_QUEUED && r->cfg->max_wait_s > 0 &&
                   now - s->queued_at >= (int64_t)r->cfg->max_wait_s * 1000) {
            g_ptr_array_add(too_long, s);
        }
    }
    for (guint i = 0; i < rings->len; i++)
        tc_queue_ring_failed(r, rings->pdata[i], "missed", now);
    for (guint i = 0; i < gone->len; i++) {
        tc_session *s = gone->pdata[i];
        tc_router_session_finish(
            r, s, s->state == TC_SESSION_ANSWERED ? TC_END_CUSTOMER_GONE : TC_END_ABANDONED, now);
    }
    for (guint i = 0; i < too_long->len; i++) {
        tc_session *s = too_long->pdata[i];
        tc_info("session %" PRId64 ": waited routing.max_wait_s", s->id);
        tc_router_session_finish(r, s, TC_END_MISSED, now);
    }
    for (guint i = 0; i < expired->len; i++) {
        tc_session *s = expired->pdata[i];
        g_hash_table_remove(r->tokens, s->token);
        tc_id_table_remove(r->sessions, s->id);
    }
    g_ptr_array_free(rings, TRUE);
    g_ptr_array_free(gone, TRUE);
    g_ptr_array_free(expired, TRUE);
    g_ptr_array_free(too_long, TRUE);
}

void tc_router_tick(tc_router *r, int64_t now)
{
    sessions_tick(r, now);
    tc_presence_tick(r, now);
    tc_agent_tick(r, now);
    tc_invites_tick(r, now);
    tc_admission_tick(r, now);
    /* estimates drift as calls run long: re-estimate once a second, push what moved */
    if (now - r->estimated_at >= 1000) {
        r->estimated_at = now;
        for (int d = 0; d < r->cfg->desk_count; d++)
            tc_queue_refresh(r, d, now);
    }
}

/* Queued sessions end first: ending a ringing one frees its agent, who must not
 * then be offered a session that is about to end too. */
static gint by_state(gconstpointer a, gconstpointer b)
{
    const tc_session *x = *(tc_session *const *)a, *y = *(tc_session *const *)b;
    return (int)x->state - (int)y->state;
}

void tc_router_shutdown(tc_router *r, int64_t now)
{
    GPtrArray *open = g_ptr_array_new();
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (((tc_session *)value)->state != TC_SESSION_ENDED)
            g_ptr_array_add(open, value);
    g_ptr_array_sort(open, by_state);
    for (guint i = 0; i < open->len; i++)
        tc_router_session_finish(r, open->pdata[i], TC_END_SERVER_SHUTDOWN, now);
    tc_info("router: %u open sessions ended for shutdown", open->len);
    g_ptr_array_free(open, TRUE);
}
