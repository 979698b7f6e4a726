/*
 * media.c: offer, answer, candidate and hangup. In this version the server
 * relays them between the two sides of a session; the media relay will answer
 * them itself. A customer's offer and candidates sent while queued are kept
 * (the latest offer, a bounded number of candidates) and handed to the agent
 * right after it accepts, so the call needs no extra round trip.
 */
#include "server_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tc_pending_media_free(gpointer p)
{
    tc_pending_media *m = p;
    free(m->offer);
    g_ptr_array_free(m->candidates, TRUE);
    g_free(m);
}

static tc_pending_media *pending_for(tc_server *srv, int64_t session_id)
{
    tc_pending_media *m = g_hash_table_lookup(srv->pending, &session_id);
    if (!m) {
        m = g_new0(tc_pending_media, 1);
        m->candidates = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
        int64_t *key = g_new(int64_t, 1);
        *key = session_id;
        g_hash_table_insert(srv->pending, key, m);
    }
    return m;
}

void tc_media_forget(tc_server *srv, int64_t session_id)
{
    g_hash_table_remove(srv->pending, &session_id);
}

/* The fields relayed to the other side: the request's media fields and session_id. */
static json_t *relayed_fields(const tc_request *req, int64_t session_id)
{
    json_t *f = json_pack("{s:I}", "session_id", (json_int_t)session_id);
    static const char *const keys[] = {"sdp", "candidate", "sdpMid", "sdpMLineIndex"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(req->root, keys[i]);
        if (v)
            json_object_set(f, keys[i], v);
    }
    return f;
}

void tc_media_deliver_pending(tc_server *srv, int64_t session_id, tc_conn *agent)
{
    tc_pending_media *m = g_hash_table_lookup(srv->pending, &session_id);
    if (!m || !m->offer)
        return;
    tc_conn_event(agent, tc_protocol_event("offer", json_pack("{s:I, s:s}", "session_id",
                                                              (json_int_t)session_id, "sdp",
                                                              m->offer)));
    for (guint i = 0; i < m->candidates->len; i++)
        tc_conn_event(agent, tc_protocol_event("candidate", json_deep_copy(m->candidates->pdata[i])));
    tc_media_forget(srv, session_id);
}

/* The session this connection speaks for, and the connection on its other side
 * (NULL when that side is not connected, or not there yet). */
static int peer_of(tc_conn *c, int64_t *session_id, tc_conn **peer)
{
    tc_server *srv = c->srv;
    tc_session_info s;
    *peer = NULL;
    if (c->role == TC_ROLE_CUSTOMER) {
        *session_id = c->session_id;
        if (tc_router_session_info(srv->router, c->session_id, &s) != 0)
            return -ENOENT;
        if (s.state == TC_SESSION_ENDED)
            return -ESTALE;
        if (s.state == TC_SESSION_ANSWERED)
            *peer = g_hash_table_lookup(srv->accounts, &s.agent_id);
        return 0;
    }
    tc_agent_info info;
    if (tc_router_agent_state(srv->router, c->account_id, &info) != 0 || !info.call_session_id)
        return -EBADFD;
    *session_id = info.call_session_id;
    *peer = g_hash_table_lookup(srv->customers, session_id);
    return 0;
}

static void keep_for_later(tc_conn *c, tc_request *req, int64_t session_id)
{
    if (c->role != TC_ROLE_CUSTOMER || req->type == TC_MSG_ANSWER)
        return;
    tc_pending_media *m = pending_for(c->srv, session_id);
    if (req->type == TC_MSG_OFFER) {
        free(m->offer);
        m->offer = strdup(tc_request_str(req, "sdp", ""));
        g_ptr_array_set_size(m->candidates, 0); /* a new offer, new ICE credentials */
    } else if (m->candidates->len < TC_PENDING_CANDIDATES_MAX) {
        g_ptr_array_add(m->candidates, relayed_fields(req, session_id));
    }
}

void tc_dispatch_media(tc_conn *c, tc_request *req)
{
    int64_t session_id = 0;
    tc_conn *peer = NULL;
    int rc = peer_of(c, &session_id, &peer);
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
    if (peer)
        tc_conn_event(peer, tc_protocol_event(tc_protocol_type_name(req->type),
                                              relayed_fields(req, session_id)));
    else
        keep_for_later(c, req, session_id);
    tc_conn_reply(c, tc_protocol_reply(req, NULL));
}
