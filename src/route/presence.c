/*
 * presence.c: the two sides of an answered call and their connections. When one
 * side's connection goes, the other side is told at once that it is reconnecting
 * (and until when), and told again when it is back, so neither page shows a
 * frozen picture as a good call. A side's media that fails while its connection
 * is gone does not end the call: the browser that comes back within the resume
 * window offers again, and only if its media is still down media.grace_s after
 * its return does the call end as failed. One place decides this, for both sides.
 */
#include "router_internal.h"

#include "telecounter/log.h"

#include <inttypes.h>

static const char *side_name(tc_media_side side)
{
    return side == TC_SIDE_CUSTOMER ? "customer" : "agent";
}

static bool side_away(tc_router *r, const tc_session *s, tc_media_side side)
{
    if (side == TC_SIDE_CUSTOMER)
        return !s->connected;
    tc_agent *a = tc_router_find_agent(r, s->agent_id);
    return !a || !a->connected;
}

void tc_presence_changed(tc_router *r, tc_session *s, tc_media_side who, bool connected,
                         int64_t now)
{
    if (s->state != TC_SESSION_ANSWERED)
        return;
    int64_t until = connected ? 0 : now + (int64_t)r->cfg->resume_window_s * 1000;
    tc_info("session %" PRId64 ": %s %s", s->id, side_name(who),
            connected ? "is back" : "lost its connection; the call waits for it");
    s->returned_at[who] = connected ? now : 0;
    if (connected && s->media_failed[who])
        s->media_deadline[who] = now + (int64_t)r->cfg->media_grace_s * 1000;
    if (r->ev.peer_state)
        r->ev.peer_state(r->ev.user, s->id, s->agent_id, who, connected, until);
}

int tc_router_media_state(tc_router *r, int64_t session_id, tc_media_side side,
                          tc_media_state state, int64_t now)
{
    tc_session *s = tc_router_find_session(r, session_id);
    if (!s || s->state == TC_SESSION_ENDED || (unsigned)side > TC_SIDE_AGENT)
        return 0;
    if (state == TC_MEDIA_CONNECTED) {
        s->media_failed[side] = false;
        s->media_deadline[side] = 0;
        return 0;
    }
    if (state != TC_MEDIA_FAILED)
        return 0;
    int64_t grace_ms = (int64_t)r->cfg->media_grace_s * 1000;
    bool just_back = s->returned_at[side] && now - s->returned_at[side] < grace_ms;
    if (s->state == TC_SESSION_ANSWERED && (side_away(r, s, side) || just_back)) {
        /* away, or back so recently that its new page has yet to offer: the
         * old leg failing says nothing about the new one */
        if (just_back)
            s->media_deadline[side] = s->returned_at[side] + grace_ms;
        if (!s->media_failed[side])
            tc_info("session %" PRId64 ": %s media failed while its connection is gone; "
                    "the resume window decides",
                    s->id, side_name(side));
        s->media_failed[side] = true;
        return 0;
    }
    tc_warn("session %" PRId64 ": %s media failed", s->id, side_name(side));
    tc_router_session_finish(r, s, TC_END_FAILED, now);
    return 1;
}

void tc_presence_tick(tc_router *r, int64_t now)
{
    GPtrArray *failed = g_ptr_array_new();
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_session *s = value;
        if (s->state != TC_SESSION_ANSWERED)
            continue;
        for (int side = 0; side < 2; side++)
            if (s->media_failed[side] && s->media_deadline[side] &&
                now >= s->media_deadline[side] && !side_away(r, s, (tc_media_side)side)) {
                g_ptr_array_add(failed, s);
                break;
            }
    }
    for (guint i = 0; i < failed->len; i++) {
        tc_session *s = failed->pdata[i];
        tc_warn("session %" PRId64 ": media did not come back after a reconnect", s->id);
        tc_router_session_finish(r, s, TC_END_FAILED, now);
    }
    g_ptr_array_free(failed, TRUE);
}
