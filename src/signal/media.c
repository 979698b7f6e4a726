/*
 * media.c: offer, candidate and hangup requests, and the relay's news for the
 * browsers. Each browser's peer connection ends at the relay: the customer's
 * offer is answered as soon as it joins (media comes up, and hold audio plays,
 * while it waits), the agent's after it accepts; the relay bridges the two
 * legs when the call is answered.
 */
#include "server_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX 16384

/* The session this connection speaks for, and its side of the media. */
static int side_of(tc_conn *c, int64_t *session_id, tc_media_side *side)
{
    if (c->role == TC_ROLE_CUSTOMER) {
        tc_session_info s;
        *session_id = c->session_id;
        *side = TC_SIDE_CUSTOMER;
        if (tc_router_session_info(c->srv->router, c->session_id, &s) != 0)
            return -ENOENT;
        return s.state == TC_SESSION_ENDED ? -ESTALE : 0;
    }
    tc_agent_info info;
    if (tc_router_agent_state(c->srv->router, c->account_id, &info) != 0 || !info.call_session_id)
        return -EBADFD;
    *session_id = info.call_session_id;
    *side = TC_SIDE_AGENT;
    return 0;
}

static void offer(tc_conn *c, tc_request *req, int64_t session_id, tc_media_side side)
{
    const char *sdp = tc_request_str(req, "sdp", "");
    char *answer = malloc(ANSWER_MAX);
    char why[160] = "";
    if (!answer) {
        tc_conn_error(c, req->id, "internal", "out of memory");
        return;
    }
    bool video = false;
    int rc = tc_media_offer(c->srv->media, session_id, side, sdp, strlen(sdp), answer, ANSWER_MAX,
                            &video, why, sizeof why);
    if (rc) {
        tc_info("session %" G_GINT64_FORMAT ": offer refused: %s", session_id, why);
        tc_conn_error(c, req->id, "bad_sdp", why);
    } else {
        tc_conn_reply(
            c, tc_protocol_reply(req, json_pack("{s:s, s:b}", "sdp", answer, "video", (int)video)));
    }
    free(answer);
}

void tc_dispatch_media(tc_conn *c, tc_request *req)
{
    int64_t session_id = 0;
    tc_media_side side;
    int rc = side_of(c, &session_id, &side);
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    if (req->type == TC_MSG_HANGUP) {
        rc = tc_router_hangup(c->srv->router, session_id, tc_server_now());
        if (rc)
            tc_reply_router_error(c, req, rc);
        else
            tc_conn_reply(c, tc_protocol_reply(req, NULL));
        return;
    }
    if (req->type == TC_MSG_OFFER) {
        offer(c, req, session_id, side);
        return;
    }
    if (req->type == TC_MSG_ANSWER) {
        tc_conn_error(c, req->id, "bad_state", "the relay answers offers; it sends none");
        return;
    }
    const char *cand = tc_request_str(req, "candidate", "");
    rc = tc_media_remote_candidate(c->srv->media, session_id, side, cand, strlen(cand));
    if (rc == -ENOENT)
        tc_conn_error(c, req->id, "bad_state", "send an offer first");
    else if (rc)
        tc_conn_error(c, req->id, "bad_request", "field 'candidate' is not an ICE candidate");
    else
        tc_conn_reply(c, tc_protocol_reply(req, NULL));
}

/* ---- the relay's news ------------------------------------------------------- */

static tc_conn *conn_of(tc_server *srv, int64_t session_id, tc_media_side side)
{
    if (side == TC_SIDE_CUSTOMER)
        return tc_id_table_get(srv->customers, session_id);
    tc_session_info s;
    if (tc_router_session_info(srv->router, session_id, &s) != 0 || !s.agent_id)
        return NULL;
    return tc_id_table_get(srv->accounts, s.agent_id);
}

static void on_candidate(void *user, int64_t session_id, tc_media_side side, const char *candidate,
                         const char *mid, int mline)
{
    tc_conn *c = conn_of(user, session_id, side);
    if (c)
        tc_conn_event(c, tc_protocol_event("candidate",
                                           json_pack("{s:I, s:s, s:s, s:i}", "session_id",
                                                     (json_int_t)session_id, "candidate", candidate,
                                                     "sdpMid", mid, "sdpMLineIndex", mline)));
}

static void on_state(void *user, int64_t session_id, tc_media_side side, tc_media_state state)
{
    tc_server *srv = user;
    tc_conn *c = conn_of(srv, session_id, side);
    if (c)
        tc_conn_event(c, tc_protocol_event("media.state", json_pack("{s:I, s:s}", "session_id",
                                                                    (json_int_t)session_id, "state",
                                                                    tc_media_state_name(state))));
    /* The router decides whether a failure ends the call (see presence.c). */
    tc_router_media_state(srv->router, session_id, side, state, tc_server_now());
}

static void on_stats(void *user, int64_t session_id, tc_media_side side, const tc_leg_stats *stats)
{
    tc_server *srv = user;
    tc_leg_stats *kept = g_hash_table_lookup(srv->media_stats, &session_id);
    if (!kept) {
        int64_t *key = g_new(int64_t, 1);
        *key = session_id;
        kept = g_new0(tc_leg_stats, 2);
        g_hash_table_insert(srv->media_stats, key, kept);
    }
    kept[side] = *stats;
}

/* The call turned audio-only (or back): both sides' current connections. */
static void on_call_media(void *user, int64_t session_id, bool video, const char *reason)
{
    for (int side = 0; side < 2; side++) {
        tc_conn *c = conn_of(user, session_id, (tc_media_side)side);
        if (c)
            tc_conn_event(c,
                          tc_protocol_event("call.media", json_pack("{s:I, s:b, s:s}", "session_id",
                                                                    (json_int_t)session_id, "video",
                                                                    (int)video, "reason", reason)));
    }
}

tc_media_events tc_media_events_for(tc_server *srv)
{
    return (tc_media_events){.user = srv,
                             .candidate = on_candidate,
                             .state = on_state,
                             .stats = on_stats,
                             .call_media = on_call_media};
}

/* A short JSON summary of both legs, kept with the session record. */
void tc_media_session_over(tc_server *srv, int64_t session_id)
{
    tc_media_end(srv->media, session_id);
    tc_leg_stats *kept = g_hash_table_lookup(srv->media_stats, &session_id);
    if (!kept)
        return;
    json_t *legs = json_object();
    static const char *const names[] = {"customer", "agent"};
    for (int side = 0; side < 2; side++) {
        const tc_leg_stats *st = &kept[side];
        if (!st->rx_packets && !st->tx_packets)
            continue;
        json_object_set_new(legs, names[side],
                            json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "rx_packets",
                                      (json_int_t)st->rx_packets, "tx_packets",
                                      (json_int_t)st->tx_packets, "rx_dropped",
                                      (json_int_t)st->rx_dropped, "plis_rx",
                                      (json_int_t)st->plis_rx, "nacks_rx", (json_int_t)st->nacks_rx,
                                      "pair", st->pair_type, "srtp", st->srtp_profile));
    }
    char *text = json_dumps(legs, JSON_COMPACT);
    json_decref(legs);
    if (text && tc_store_session_media_summary(srv->store, session_id, text) != 0)
        tc_warn("session %" G_GINT64_FORMAT ": media summary not recorded", session_id);
    free(text);
    g_hash_table_remove(srv->media_stats, &session_id);
}
