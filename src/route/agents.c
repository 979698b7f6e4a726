/*
 * agents.c: agent states. Who may change what:
 *   the agent asks for available / not_ready (not while ringing or on a call);
 *   routing moves available -> ringing -> on_call, or ringing -> not_ready (missed);
 *   a call's end moves on_call -> after_call_work -> available (timer or outcome).
 * An agent whose connection drops is offline; on a call it has the resume window
 * to log in again before the call ends as agent_gone.
 */
#include "router_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void tc_agent_set(tc_router *r, tc_agent *a, tc_agent_state state, const char *reason,
                  int64_t until, int64_t now, bool tell_agent)
{
    tc_agent_state was = a->state;
    a->state = state;
    snprintf(a->reason, sizeof a->reason, "%s", reason ? reason : "");
    if (state != TC_AGENT_AFTER_CALL_WORK || a->acw_until == 0)
        a->acw_extended = false;
    a->acw_until = until;
    if (state == TC_AGENT_AVAILABLE && was != TC_AGENT_AVAILABLE)
        a->idle_since = now;
    if (state != TC_AGENT_RINGING && state != TC_AGENT_ON_CALL && state != TC_AGENT_AFTER_CALL_WORK)
        a->session_id = 0;
    if (tell_agent && a->connected && r->ev.agent_state)
        r->ev.agent_state(r->ev.user, a->id, state, a->reason, until);
    /* Match before refreshing: an agent about to be rung is not free, and
     * customers must not be shown an estimate that counts it as free. */
    if (state == TC_AGENT_AVAILABLE)
        tc_queue_match(r, now);
    for (int d = 0; d < r->cfg->desk_count; d++)
        if ((a->skills >> d) & 1u)
            tc_queue_refresh(r, d, now);
    if (r->ev.queues_changed)
        r->ev.queues_changed(r->ev.user);
}

static uint32_t parse_skills(const tc_config *cfg, const char *skills)
{
    uint32_t bits = 0;
    gchar **parts = g_strsplit(skills, ",", -1);
    for (gchar **p = parts; *p; p++) {
        int d = tc_config_desk_index(cfg, g_strstrip(*p));
        if (d >= 0)
            bits |= 1u << d;
    }
    g_strfreev(parts);
    return bits;
}

int tc_router_agent_login(tc_router *r, const tc_account *account, int64_t now, tc_agent_info *out)
{
    tc_agent *a = tc_router_find_agent(r, account->id);
    if (!a) {
        a = g_new0(tc_agent, 1);
        a->id = account->id;
        a->state = TC_AGENT_OFFLINE;
        tc_id_table_put(r->agents, a->id, a);
    }
    snprintf(a->username, sizeof a->username, "%s", account->username);
    snprintf(a->name, sizeof a->name, "%s",
             account->display_name[0] ? account->display_name : account->username);
    a->skills = parse_skills(r->cfg, account->skills);
    bool was_away = !a->connected;
    a->connected = true;
    a->disconnected_at = 0;
    tc_info("agent %s: logged in (%s)", a->username, tc_agent_state_name(a->state));
    tc_store_audit(r->store, now, 0, a->id, "login", NULL);
    if (a->state == TC_AGENT_OFFLINE && a->owed_session_id && r->cfg->after_call_work_s > 0) {
        /* back after the window ended its call: the outcome is still to be given */
        a->session_id = a->owed_session_id;
        tc_agent_set(r, a, TC_AGENT_AFTER_CALL_WORK, "",
                     now + (int64_t)r->cfg->after_call_work_s * 1000, now, false);
    } else if (a->state == TC_AGENT_OFFLINE) {
        tc_agent_set(r, a, TC_AGENT_NOT_READY, "", 0, now, false);
    }
    a->owed_session_id = 0;
    tc_session *call =
        a->state == TC_AGENT_ON_CALL ? tc_router_find_session(r, a->session_id) : NULL;
    if (call && was_away)
        tc_presence_changed(r, call, TC_SIDE_AGENT, true, now);
    return tc_router_agent_state(r, a->id, out);
}

static void forget_agent(tc_router *r, tc_agent *a, int64_t now)
{
    uint32_t skills = a->skills;
    tc_id_table_remove(r->agents, a->id);
    for (int d = 0; d < r->cfg->desk_count; d++)
        if ((skills >> d) & 1u)
            tc_queue_refresh(r, d, now);
    if (r->ev.queues_changed)
        r->ev.queues_changed(r->ev.user);
}

int tc_router_agent_logout(tc_router *r, int64_t agent_id, int64_t now)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    if (!a)
        return -ENOENT;
    if (a->state == TC_AGENT_RINGING || a->state == TC_AGENT_ON_CALL)
        return -EBADFD;
    tc_info("agent %s: logged out", a->username);
    tc_store_audit(r->store, now, 0, a->id, "logout", NULL);
    forget_agent(r, a, now);
    return 0;
}

void tc_router_agent_disconnected(tc_router *r, int64_t agent_id, int64_t now)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    if (!a || !a->connected)
        return;
    a->connected = false;
    a->disconnected_at = now;
    tc_info("agent %s: connection lost (%s)", a->username, tc_agent_state_name(a->state));
    if (a->state == TC_AGENT_RINGING) {
        tc_session *s = tc_router_find_session(r, a->session_id);
        if (s)
            tc_queue_ring_withdraw(r, s, "agent_gone", now);
        tc_queue_match(r, now);
    } else if (a->state == TC_AGENT_ON_CALL) {
        tc_session *s = tc_router_find_session(r, a->session_id);
        if (s)
            tc_presence_changed(r, s, TC_SIDE_AGENT, false, now);
    } else {
        tc_agent_set(r, a, TC_AGENT_OFFLINE, "disconnected", 0, now, true);
    }
}

int tc_router_agent_set_state(tc_router *r, int64_t agent_id, tc_agent_state want,
                              const char *reason, int64_t now)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    if (!a)
        return -ENOENT;
    if (want != TC_AGENT_AVAILABLE && want != TC_AGENT_NOT_READY)
        return -EINVAL;
    if (a->state != TC_AGENT_AVAILABLE && a->state != TC_AGENT_NOT_READY &&
        a->state != TC_AGENT_AFTER_CALL_WORK)
        return -EBADFD;
    /* The reply tells the agent; events are for changes it did not ask for. */
    tc_agent_set(r, a, want, want == TC_AGENT_NOT_READY ? reason : "", 0, now, false);
    return 0;
}

static int ringing_pair(tc_router *r, int64_t agent_id, int64_t session_id, tc_agent **a_out,
                        tc_session **s_out)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    tc_session *s = tc_router_find_session(r, session_id);
    if (!a || !s)
        return -ENOENT;
    if (a->state != TC_AGENT_RINGING || a->session_id != session_id ||
        s->state != TC_SESSION_RINGING || s->agent_id != agent_id)
        return -EBADFD;
    *a_out = a;
    *s_out = s;
    return 0;
}

int tc_router_agent_accept(tc_router *r, int64_t agent_id, int64_t session_id, int64_t now,
                           tc_session_info *out)
{
    tc_agent *a;
    tc_session *s;
    int rc = ringing_pair(r, agent_id, session_id, &a, &s);
    if (rc)
        return rc;
    rc = tc_store_session_answered(r->store, s->id, a->id, now);
    if (rc)
        return rc;
    tc_queue_remove(r, s);
    s->state = TC_SESSION_ANSWERED;
    s->answered_at = now;
    tc_info("session %" PRId64 ": answered by %s after %" PRId64 " ms", s->id, a->username,
            now - s->queued_at);
    tc_agent_set(r, a, TC_AGENT_ON_CALL, "", 0, now, false); /* the reply tells the agent */
    tc_router_fill_info(r, s, now, out);
    if (r->ev.answered)
        r->ev.answered(r->ev.user, s->id, a->id);
    tc_queue_refresh(r, s->desk, now);
    return 0;
}

int tc_router_agent_decline(tc_router *r, int64_t agent_id, int64_t session_id, int64_t now)
{
    tc_agent *a;
    tc_session *s;
    int rc = ringing_pair(r, agent_id, session_id, &a, &s);
    if (rc)
        return rc;
    tc_queue_ring_failed(r, s, "declined", now);
    return 0;
}

int tc_router_agent_outcome(tc_router *r, int64_t agent_id, int64_t session_id, const char *code,
                            const char *notes, int64_t now, tc_agent_state *state_out)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    if (!a)
        return -ENOENT;
    int rc = tc_store_session_outcome(r->store, session_id, agent_id, code, notes ? notes : "");
    if (rc)
        return rc;
    tc_store_audit(r->store, now, session_id, agent_id, "outcome", NULL);
    if (a->state == TC_AGENT_AFTER_CALL_WORK && a->session_id == session_id) {
        tc_agent_set(r, a, TC_AGENT_AVAILABLE, "", 0, now, false); /* the reply tells it */
    }
    if (state_out)
        *state_out = a->state;
    return 0;
}

int tc_router_agent_extend_wrap_up(tc_router *r, int64_t agent_id, int64_t session_id, int64_t now,
                                   int64_t *until_out)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    if (!a)
        return -ENOENT;
    if (a->state != TC_AGENT_AFTER_CALL_WORK || a->session_id != session_id || a->acw_extended)
        return -EBADFD;
    a->acw_extended = true;
    a->acw_until += (int64_t)r->cfg->after_call_work_s * 1000;
    tc_info("agent %s: after-call work extended", a->username);
    tc_store_audit(r->store, now, session_id, agent_id, "wrap_up_extended", NULL);
    *until_out = a->acw_until;
    return 0;
}

int tc_router_agent_state(tc_router *r, int64_t agent_id, tc_agent_info *out)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    if (!a)
        return -ENOENT;
    memset(out, 0, sizeof *out);
    out->state = a->state;
    snprintf(out->reason, sizeof out->reason, "%s", a->reason);
    out->call_session_id = a->state == TC_AGENT_ON_CALL ? a->session_id : 0;
    if (a->state == TC_AGENT_AFTER_CALL_WORK) {
        out->acw_session_id = a->session_id;
        out->acw_until = a->acw_until;
    }
    return 0;
}

/* What the timers do to one agent: after-call work ends, or a dropped agent goes. */
static void agent_due(tc_router *r, tc_agent *a, int64_t now)
{
    if (a->connected) {
        tc_agent_set(r, a, TC_AGENT_AVAILABLE, "", 0, now, true); /* after-call work over */
        return;
    }
    if (now - a->disconnected_at < (int64_t)r->cfg->resume_window_s * 1000) {
        tc_agent_set(r, a, TC_AGENT_OFFLINE, "disconnected", 0, now, false);
        return;
    }
    tc_session *s = a->state == TC_AGENT_ON_CALL ? tc_router_find_session(r, a->session_id) : NULL;
    tc_info("agent %s: gone past the resume window", a->username);
    if (s && tc_router_session_finish(r, s, TC_END_AGENT_GONE, now) == 0) {
        /* Kept, offline, so that its next login can code this call. */
        a->owed_session_id = s->id;
        tc_agent_set(r, a, TC_AGENT_OFFLINE, "disconnected", 0, now, false);
        return;
    }
    forget_agent(r, a, now);
}

void tc_agent_tick(tc_router *r, int64_t now)
{
    int64_t window_ms = (int64_t)r->cfg->resume_window_s * 1000;
    GPtrArray *due = g_ptr_array_new();
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->agents);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_agent *a = value;
        /* an agent owed an outcome waits (offline) for its next login, an hour at most */
        int64_t away_ms = a->owed_session_id ? window_ms + TC_ENDED_KEEP_MS : window_ms;
        if ((a->state == TC_AGENT_AFTER_CALL_WORK && now >= a->acw_until) ||
            (!a->connected && now - a->disconnected_at >= away_ms))
            g_ptr_array_add(due, a);
    }
    for (guint i = 0; i < due->len; i++)
        agent_due(r, due->pdata[i], now);
    g_ptr_array_free(due, TRUE);
}
