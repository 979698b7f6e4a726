/*
 * protocol.c: one table says, for each request type, its name, who may send it
 * and its fields; parsing checks a frame against the table and nothing else.
 */
#include "telecounter/protocol.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum field_kind { F_STR, F_INT } field_kind;

typedef struct field_rule {
    const char *name;
    field_kind kind;
    bool required;
    int64_t min, max; /* string: length in bytes; int: value */
} field_rule;

#define MAX_FIELDS 4
#define ANY_ACCOUNT (TC_ROLE_AGENT | TC_ROLE_OPS)
#define SESSION_ID                                                                                 \
    {                                                                                              \
        "session_id", F_INT, true, 1, INT64_C(1) << 53                                             \
    }

typedef struct msg_rule {
    const char *name;
    unsigned roles;
    field_rule fields[MAX_FIELDS];
} msg_rule;

static const msg_rule rules[TC_MSG_COUNT] = {
    [TC_MSG_HELLO] = {"hello", ~0u, {{"protocol", F_INT, false, 0, 1000}}},
    [TC_MSG_PING] = {"ping", ~0u, {{0}}},
    [TC_MSG_CUSTOMER_JOIN] = {"customer.join", TC_ROLE_ANON, {{"desk", F_STR, true, 1, 31}}},
    [TC_MSG_CUSTOMER_REDEEM] = {"customer.redeem", TC_ROLE_ANON, {{"code", F_STR, true, 1, 64}}},
    [TC_MSG_CUSTOMER_RESUME] = {"customer.resume", TC_ROLE_ANON, {{"token", F_STR, true, 1, 64}}},
    [TC_MSG_CUSTOMER_LEAVE] = {"customer.leave", TC_ROLE_CUSTOMER, {{0}}},
    [TC_MSG_CUSTOMER_RATE] = {"customer.rate",
                              TC_ROLE_CUSTOMER | TC_ROLE_ANON,
                              {{"rating", F_INT, true, 1, 5},
                               {"comment", F_STR, false, 0, 1000},
                               {"token", F_STR, false, 1, 64}}},
    [TC_MSG_LOGIN] = {"login",
                      TC_ROLE_ANON,
                      {{"username", F_STR, true, 1, 63}, {"password", F_STR, true, 1, 1024}}},
    [TC_MSG_LOGOUT] = {"logout", ANY_ACCOUNT, {{0}}},
    [TC_MSG_AGENT_STATE] = {"agent.state",
                            TC_ROLE_AGENT,
                            {{"state", F_STR, true, 1, 16}, {"reason", F_STR, false, 0, 64}}},
    [TC_MSG_AGENT_ACCEPT] = {"agent.accept", TC_ROLE_AGENT, {SESSION_ID}},
    [TC_MSG_AGENT_DECLINE] = {"agent.decline", TC_ROLE_AGENT, {SESSION_ID}},
    [TC_MSG_AGENT_EXTEND_WRAP_UP] = {"agent.extend_wrap_up", TC_ROLE_AGENT, {SESSION_ID}},
    [TC_MSG_AGENT_OUTCOME] = {"agent.outcome",
                              TC_ROLE_AGENT,
                              {SESSION_ID,
                               {"code", F_STR, true, 1, 64},
                               {"notes", F_STR, false, 0, 2000}}},
    [TC_MSG_INVITE_CREATE] = {"invite.create",
                              ANY_ACCOUNT,
                              {{"desk", F_STR, false, 1, 31},
                               {"case_ref", F_STR, true, 1, 128},
                               {"note", F_STR, false, 0, 500},
                               {"valid_s", F_INT, false, 1, 7 * 86400}}},
    [TC_MSG_STATS_LIVE] = {"stats.live", TC_ROLE_OPS, {{0}}},
    [TC_MSG_QUEUE_WATCH] = {"queue.watch", ANY_ACCOUNT, {{0}}},
    [TC_MSG_OFFER] = {"offer", TC_ROLE_CUSTOMER | TC_ROLE_AGENT, {{"sdp", F_STR, true, 1, 65536}}},
    [TC_MSG_ANSWER] = {"answer",
                       TC_ROLE_CUSTOMER | TC_ROLE_AGENT,
                       {{"sdp", F_STR, true, 1, 65536}}},
    [TC_MSG_CANDIDATE] = {"candidate",
                          TC_ROLE_CUSTOMER | TC_ROLE_AGENT,
                          {{"candidate", F_STR, true, 0, 1024},
                           {"sdpMid", F_STR, false, 0, 32},
                           {"sdpMLineIndex", F_INT, false, 0, 63}}},
    [TC_MSG_HANGUP] = {"hangup", TC_ROLE_CUSTOMER | TC_ROLE_AGENT, {{0}}},
};

const char *tc_protocol_type_name(tc_msg type)
{
    return (unsigned)type < TC_MSG_COUNT ? rules[type].name : "";
}

unsigned tc_protocol_roles(tc_msg type)
{
    return (unsigned)type < TC_MSG_COUNT ? rules[type].roles : 0;
}

static int fail(tc_protocol_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(tc_protocol_error *err, const char *code, const char *fmt, ...)
{
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool valid_id(const json_t *id)
{
    if (json_is_integer(id))
        return json_integer_value(id) >= 0 && json_integer_value(id) <= (INT64_C(1) << 53);
    return json_is_string(id) && json_string_length(id) <= 64;
}

static int check_field(const field_rule *f, const json_t *v, tc_protocol_error *err)
{
    if (!v || json_is_null(v))
        return f->required ? fail(err, "bad_request", "field '%s' is required", f->name) : 0;
    if (f->kind == F_STR) {
        if (!json_is_string(v))
            return fail(err, "bad_request", "field '%s' must be a string", f->name);
        int64_t len = (int64_t)json_string_length(v);
        if (len < f->min || len > f->max)
            return fail(err, "bad_request", "field '%s' must be %lld to %lld bytes long", f->name,
                        (long long)f->min, (long long)f->max);
        if (memchr(json_string_value(v), '\0', (size_t)len))
            return fail(err, "bad_request", "field '%s' contains a NUL character", f->name);
        return 0;
    }
    if (!json_is_integer(v))
        return fail(err, "bad_request", "field '%s' must be a whole number", f->name);
    int64_t n = json_integer_value(v);
    if (n < f->min || n > f->max)
        return fail(err, "bad_request", "field '%s' must be from %lld to %lld", f->name,
                    (long long)f->min, (long long)f->max);
    return 0;
}

static int find_type(const char *name, tc_msg *out)
{
    for (int i = 0; i < TC_MSG_COUNT; i++) {
        if (strcmp(rules[i].name, name) == 0) {
            *out = (tc_msg)i;
            return 0;
        }
    }
    return -ENOENT;
}

int tc_protocol_parse(const char *text, size_t len, tc_request *req, tc_protocol_error *err)
{
    memset(req, 0, sizeof *req);
    json_error_t jerr;
    req->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req->root || !json_is_object(req->root))
        return fail(err, "bad_json", "expected one JSON object per frame");
    json_t *id = json_object_get(req->root, "id");
    if (!id || !valid_id(id))
        return fail(err, "bad_request", "field 'id' must be a whole number or a short string");
    req->id = id;
    json_t *type = json_object_get(req->root, "type");
    if (!json_is_string(type))
        return fail(err, "bad_request", "field 'type' must be a string");
    if (find_type(json_string_value(type), &req->type) != 0)
        return fail(err, "unknown_type", "no request type '%.64s'", json_string_value(type));
    const msg_rule *rule = &rules[req->type];
    for (int i = 0; i < MAX_FIELDS && rule->fields[i].name; i++) {
        int rc =
            check_field(&rule->fields[i], json_object_get(req->root, rule->fields[i].name), err);
        if (rc)
            return rc;
    }
    return 0;
}

void tc_request_cleanup(tc_request *req)
{
    json_decref(req->root);
    req->root = NULL;
    req->id = NULL;
}

const char *tc_request_str(const tc_request *req, const char *field, const char *dflt)
{
    const json_t *v = json_object_get(req->root, field);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int64_t tc_request_int(const tc_request *req, const char *field, int64_t dflt)
{
    const json_t *v = json_object_get(req->root, field);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static char *dump_with(const char *type, const json_t *id, bool with_id, json_t *fields)
{
    json_t *msg = json_object();
    json_object_set_new(msg, "type", json_string(type));
    if (with_id)
        json_object_set(msg, "id", id ? (json_t *)id : json_null());
    if (fields) {
        json_object_update(msg, fields);
        json_decref(fields);
    }
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    return text;
}

char *tc_protocol_reply(const tc_request *req, json_t *fields)
{
    char type[64];
    snprintf(type, sizeof type, "%s.ok", tc_protocol_type_name(req->type));
    return dump_with(type, req->id, true, fields);
}

char *tc_protocol_error_text(const json_t *id, const char *code, const char *message, json_t *extra)
{
    json_t *fields = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (extra) {
        json_object_update(fields, extra);
        json_decref(extra);
    }
    return dump_with("error", id, true, fields);
}

char *tc_protocol_event(const char *type, json_t *fields)
{
    return dump_with(type, NULL, false, fields);
}

size_t tc_protocol_queue_update(char *out, size_t cap, int64_t session_id, int position, int wait_s,
                                int agents)
{
    int n = snprintf(out, cap,
                     "{\"type\":\"queue.update\",\"session_id\":%" PRId64
                     ",\"position\":%d,\"wait_s\":%d,\"agents\":%d}",
                     session_id, position, wait_s, agents);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
