/*
 * dispatch.c: routes a validated request to its handler after the role check,
 * and handles what needs no account: hello, ping and the customer requests.
 */
#include "server_internal.h"

#include "build_info.h"
#include "telecounter/log.h"

#include <errno.h>
#include <string.h>

void tc_reply_router_error(tc_conn *c, const tc_request *req, int rc)
{
    switch (rc) {
    case -ENOENT:
        tc_conn_error(c, req->id, "not_found", "no such session for this caller");
        break;
    case -EBADFD:
        tc_conn_error(c, req->id, "bad_state", "not possible in the current state");
        break;
    case -ESTALE:
        tc_conn_error(c, req->id, "session_ended", "the session has ended");
        break;
    case -EALREADY:
        tc_conn_error(c, req->id, "already_rated", "the session was rated before");
        break;
    case -EAGAIN:
        tc_conn_error(c, req->id, "not_ended", "the session has not ended yet");
        break;
    case -EPERM:
        tc_conn_error(c, req->id, "forbidden", "not your session");
        break;
    case -EINVAL:
        tc_conn_error(c, req->id, "bad_request", "a value is out of range");
        break;
    default:
        tc_conn_error(c, req->id, "internal", "the server failed; nothing was changed");
        break;
    }
}

void tc_bind_customer(tc_conn *c, int64_t session_id)
{
    tc_server *srv = c->srv;
    tc_conn *old = tc_id_table_get(srv->customers, session_id);
    if (old && old != c) {
        tc_conn_event(old, tc_protocol_event("session.replaced", NULL));
        old->role = TC_ROLE_ANON; /* no longer speaks for the session */
        tc_conn_close(old, LWS_CLOSE_STATUS_NORMAL);
    }
    c->role = TC_ROLE_CUSTOMER;
    c->session_id = session_id;
    tc_id_table_put(srv->customers, session_id, c);
}

static json_t *joined_json(const tc_join_result *j)
{
    return json_pack("{s:I, s:s, s:s, s:i, s:i, s:i}", "session_id", (json_int_t)j->session.id,
                     "token", j->token, "desk", j->session.desk, "position", j->session.position,
                     "wait_s", j->session.wait_s, "agents", j->session.agents);
}

static void reply_throttled(tc_conn *c, const tc_request *req, const char *message,
                            int retry_after_s)
{
    tc_conn_reply(c, tc_protocol_error_text(req->id, "throttled", message,
                                            json_pack("{s:i}", "retry_after_s", retry_after_s)));
}

static void customer_join(tc_conn *c, tc_request *req)
{
    tc_join_result j;
    int retry_after_s = 0;
    int rc = tc_router_customer_join(c->srv->router, tc_request_str(req, "desk", ""), c->addr,
                                     tc_server_now(), &j, &retry_after_s);
    if (rc == -ENOENT) {
        tc_conn_error(c, req->id, "unknown_desk", "no such desk");
        return;
    }
    if (rc == -EBUSY) {
        reply_throttled(c, req, "too many sessions from your network; try again later",
                        retry_after_s);
        return;
    }
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_bind_customer(c, j.session.id);
    tc_conn_reply(c, tc_protocol_reply(req, joined_json(&j)));
}

static void customer_redeem(tc_conn *c, tc_request *req)
{
    tc_join_result j;
    int retry_after_s = 0;
    const char *code = tc_request_str(req, "code", "");
    int rc = tc_router_customer_redeem(c->srv->router, code, strlen(code), c->addr, tc_server_now(),
                                       &j, &retry_after_s);
    if (rc == -ENOENT) {
        tc_conn_error(c, req->id, "invalid_code",
                      "this code is not valid: it may be mistyped, expired or already used");
    } else if (rc == -EBUSY) {
        reply_throttled(c, req, "too many tries or sessions from your network; try again later",
                        retry_after_s);
    } else if (rc) {
        tc_reply_router_error(c, req, rc);
    } else {
        tc_bind_customer(c, j.session.id);
        tc_conn_reply(c, tc_protocol_reply(req, joined_json(&j)));
    }
}

static json_t *session_json(const tc_session_info *s)
{
    json_t *agent = s->agent_name[0] ? json_pack("{s:s}", "name", s->agent_name) : json_null();
    json_t *f = json_pack("{s:I, s:s, s:s, s:i, s:i, s:o}", "session_id", (json_int_t)s->id, "desk",
                          s->desk, "state", tc_session_state_name(s->state), "position",
                          s->position, "wait_s", s->wait_s, "agent", agent);
    if (s->state == TC_SESSION_QUEUED || s->state == TC_SESSION_RINGING)
        json_object_set_new(f, "agents", json_integer(s->agents));
    if (s->state == TC_SESSION_ANSWERED) {
        json_object_set_new(f, "peer", json_string(s->agent_away ? "reconnecting" : "connected"));
        if (s->agent_away)
            json_object_set_new(f, "peer_until", json_integer(s->away_until));
    }
    return f;
}

static void customer_resume(tc_conn *c, tc_request *req)
{
    tc_session_info s;
    int rc = tc_router_customer_resume(c->srv->router, tc_request_str(req, "token", ""),
                                       tc_server_now(), &s);
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    if (s.state == TC_SESSION_ENDED) {
        tc_conn_reply(
            c, tc_protocol_error_text(req->id, "session_ended", "the session has ended",
                                      json_pack("{s:I, s:s}", "session_id", (json_int_t)s.id,
                                                "reason", tc_end_reason_name(s.end_reason))));
        return;
    }
    tc_bind_customer(c, s.id);
    tc_conn_reply(c, tc_protocol_reply(req, session_json(&s)));
}

static void customer_rate(tc_conn *c, tc_request *req)
{
    int64_t session_id = c->role == TC_ROLE_CUSTOMER ? c->session_id : 0;
    const char *token = tc_request_str(req, "token", NULL);
    if (token && tc_router_session_by_token(c->srv->router, token, &session_id) != 0) {
        tc_conn_error(c, req->id, "not_found", "no such session for this caller");
        return;
    }
    if (!session_id) {
        tc_conn_error(c, req->id, "bad_request", "field 'token' is required");
        return;
    }
    int rc =
        tc_router_customer_rate(c->srv->router, session_id, (int)tc_request_int(req, "rating", 0),
                                tc_request_str(req, "comment", ""), tc_server_now());
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_conn_reply(c,
                  tc_protocol_reply(req, json_pack("{s:I}", "session_id", (json_int_t)session_id)));
}

static void customer_leave(tc_conn *c, tc_request *req)
{
    tc_end_reason reason;
    int rc = tc_router_customer_leave(c->srv->router, c->session_id, tc_server_now(), &reason);
    if (rc) {
        tc_reply_router_error(c, req, rc);
        return;
    }
    tc_conn_reply(
        c, tc_protocol_reply(req, json_pack("{s:I, s:s}", "session_id", (json_int_t)c->session_id,
                                            "reason", tc_end_reason_name(reason))));
}

static void hello(tc_conn *c, tc_request *req)
{
    int64_t version = tc_request_int(req, "protocol", TC_PROTOCOL_VERSION);
    if (version != TC_PROTOCOL_VERSION) {
        tc_conn_error(c, req->id, "unsupported_version", "this server speaks protocol 1");
        return;
    }
    const tc_config *cfg = c->srv->cfg;
    json_t *desks = json_array();
    for (int i = 0; i < cfg->desk_count; i++)
        json_array_append_new(desks, json_string(cfg->desks[i]));
    tc_conn_reply(
        c, tc_protocol_reply(req, json_pack("{s:i, s:s, s:o, s:i}", "protocol", TC_PROTOCOL_VERSION,
                                            "server", "telecounter " TC_VERSION, "desks", desks,
                                            "max_message_bytes", cfg->max_message_bytes)));
}

static void ping(tc_conn *c, tc_request *req)
{
    tc_conn_reply(c, tc_protocol_reply(req, NULL));
}

typedef void (*handler_fn)(tc_conn *c, tc_request *req);

/* Who handles what; protocol.c's table says who may send it. */
static const handler_fn handlers[TC_MSG_COUNT] = {
    [TC_MSG_HELLO] = hello,
    [TC_MSG_PING] = ping,
    [TC_MSG_CUSTOMER_JOIN] = customer_join,
    [TC_MSG_CUSTOMER_REDEEM] = customer_redeem,
    [TC_MSG_CUSTOMER_RESUME] = customer_resume,
    [TC_MSG_CUSTOMER_LEAVE] = customer_leave,
    [TC_MSG_CUSTOMER_RATE] = customer_rate,
    [TC_MSG_LOGIN] = tc_handle_login,
    [TC_MSG_LOGOUT] = tc_handle_logout,
    [TC_MSG_AGENT_STATE] = tc_handle_agent_state,
    [TC_MSG_AGENT_ACCEPT] = tc_handle_agent_accept,
    [TC_MSG_AGENT_DECLINE] = tc_handle_agent_decline,
    [TC_MSG_AGENT_OUTCOME] = tc_handle_agent_outcome,
    [TC_MSG_AGENT_EXTEND_WRAP_UP] = tc_handle_agent_extend_wrap_up,
    [TC_MSG_INVITE_CREATE] = tc_handle_invite_create,
    [TC_MSG_STATS_LIVE] = tc_handle_stats_live,
    [TC_MSG_QUEUE_WATCH] = tc_handle_queue_watch,
    [TC_MSG_OFFER] = tc_dispatch_media,
    [TC_MSG_ANSWER] = tc_dispatch_media,
    [TC_MSG_CANDIDATE] = tc_dispatch_media,
    [TC_MSG_HANGUP] = tc_dispatch_media,
};

void tc_dispatch(tc_conn *c, tc_request *req)
{
    unsigned roles = tc_protocol_roles(req->type);
    if (c->login_pending && roles == TC_ROLE_ANON && req->type != TC_MSG_LOGIN) {
        /* the login may yet make this connection an agent: one role per connection */
        tc_conn_error(c, req->id, "bad_state", "a login is being checked on this connection");
        return;
    }
    if (!(roles & c->role)) {
        if (roles == TC_ROLE_ANON) /* joining or logging in twice */
            tc_conn_error(c, req->id, "bad_state", "this connection already has a role");
        else
            tc_conn_error(c, req->id, "forbidden",
                          c->role == TC_ROLE_ANON ? "log in or join first"
                                                  : "this connection's role may not do that");
        return;
    }
    handlers[req->type](c, req);
}
