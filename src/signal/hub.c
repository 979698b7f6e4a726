/*
 * hub.c: turns the router's events into protocol events on the connections they
 * concern. A user whose connection is gone simply misses the event: on resume
 * or login it is told the current state instead.
 */
#include "server_internal.h"

#include "telecounter/stats.h"

static tc_conn *customer(tc_server *srv, int64_t session_id)
{
    return tc_id_table_get(srv->customers, session_id);
}

static tc_conn *account(tc_server *srv, int64_t account_id)
{
    return tc_id_table_get(srv->accounts, account_id);
}

static void on_queue_update(void *user, int64_t session_id, int position, int wait_s, int agents)
{
    tc_conn *c = customer(user, session_id);
    if (c)
        tc_conn_position(c, position, wait_s, agents);
}

void tc_hub_send_ring(tc_conn *c, const tc_ring_info *ring)
{
    tc_conn_event(
        c, tc_protocol_event("ring", json_pack("{s:I, s:s, s:i, s:s, s:s, s:i}", "session_id",
                                               (json_int_t)ring->session_id, "desk", ring->desk,
                                               "waited_s", ring->waited_s, "priority",
                                               ring->priority ? "invite" : "normal", "case_ref",
                                               ring->case_ref, "timeout_s", ring->timeout_s)));
}

static void on_ring(void *user, int64_t agent_id, const tc_ring_info *ring)
{
    tc_conn *c = account(user, agent_id);
    if (c)
        tc_hub_send_ring(c, ring);
}

static void on_ring_cancelled(void *user, int64_t agent_id, int64_t session_id, const char *reason)
{
    tc_conn *c = account(user, agent_id);
    if (c)
        tc_conn_event(c, tc_protocol_event("ring.cancelled",
                                           json_pack("{s:I, s:s}", "session_id",
                                                     (json_int_t)session_id, "reason", reason)));
}

static void on_agent_state(void *user, int64_t agent_id, tc_agent_state state, const char *reason,
                           int64_t until)
{
    tc_conn *c = account(user, agent_id);
    if (!c)
        return;
    json_t *f = json_pack("{s:s, s:s}", "state", tc_agent_state_name(state), "reason", reason);
    if (until)
        json_object_set_new(f, "until", json_integer(until));
    tc_conn_event(c, tc_protocol_event("agent.state", f));
}

static void on_answered(void *user, int64_t session_id, int64_t agent_id)
{
    tc_server *srv = user;
    tc_conn *agent = account(srv, agent_id);
    tc_conn *cust = customer(srv, session_id);
    if (cust)
        tc_conn_event(cust, tc_protocol_event("session.answered",
                                              json_pack("{s:I, s:{s:s}}", "session_id",
                                                        (json_int_t)session_id, "agent", "name",
                                                        agent ? agent->display_name : "")));
    tc_media_bridge(srv->media, session_id);
}

static void on_ended(void *user, int64_t session_id, int64_t agent_id, tc_end_reason reason)
{
    tc_server *srv = user;
    json_t *f = json_pack("{s:I, s:s}", "session_id", (json_int_t)session_id, "reason",
                          tc_end_reason_name(reason));
    tc_conn *cust = customer(srv, session_id);
    tc_conn *agent = agent_id ? account(srv, agent_id) : NULL;
    if (cust)
        tc_conn_event(cust, tc_protocol_event("session.ended", json_deep_copy(f)));
    if (agent)
        tc_conn_event(agent, tc_protocol_event("session.ended", json_deep_copy(f)));
    json_decref(f);
    tc_media_session_over(srv, session_id);
}

static void on_peer_state(void *user, int64_t session_id, int64_t agent_id, tc_media_side who,
                          bool connected, int64_t until)
{
    tc_server *srv = user;
    tc_conn *other = who == TC_SIDE_CUSTOMER ? account(srv, agent_id) : customer(srv, session_id);
    if (!other)
        return;
    json_t *f = json_pack("{s:I, s:s, s:s}", "session_id", (json_int_t)session_id, "peer",
                          who == TC_SIDE_CUSTOMER ? "customer" : "agent", "state",
                          connected ? "connected" : "reconnecting");
    if (!connected)
        json_object_set_new(f, "until", json_integer(until));
    tc_conn_event(other, tc_protocol_event("peer.state", f));
}

static void on_queues_changed(void *user)
{
    ((tc_server *)user)->queues_dirty = true;
}

tc_router_events tc_hub_events(tc_server *srv)
{
    return (tc_router_events){
        .user = srv,
        .queue_update = on_queue_update,
        .ring = on_ring,
        .ring_cancelled = on_ring_cancelled,
        .agent_state = on_agent_state,
        .answered = on_answered,
        .ended = on_ended,
        .queues_changed = on_queues_changed,
        .peer_state = on_peer_state,
    };
}

void tc_hub_send_summaries(tc_server *srv)
{
    if (!srv->queues_dirty)
        return;
    srv->queues_dirty = false;
    json_t *desks = NULL;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, srv->accounts);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_conn *c = value;
        if (!c->watching)
            continue;
        if (!desks)
            desks = tc_stats_queue_summary(srv->router, tc_server_now());
        tc_conn_event(c, tc_protocol_event("queue.summary", json_pack("{s:O}", "desks", desks)));
    }
    json_decref(desks);
}
