/*
 * Unit tests of the protocol validator and builders against docs/protocol.md.
 * The table below is written from the document, not copied from protocol.c,
 * so that the two are checked against each other: every request type, every
 * field, each missing, wrong-typed, out of range and at its limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telecounter/protocol.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL_ROLES (TC_ROLE_ANON | TC_ROLE_CUSTOMER | TC_ROLE_AGENT | TC_ROLE_OPS)
#define ACCOUNT (TC_ROLE_AGENT | TC_ROLE_OPS)
#define MEDIA (TC_ROLE_CUSTOMER | TC_ROLE_AGENT)
#define MAX_ID (INT64_C(1) << 53)

typedef struct fspec {
    const char *name;
    char kind; /* 's' string (min/max: length in bytes), 'i' integer */
    bool required;
    int64_t min, max;
} fspec;

typedef struct mspec {
    const char *type;
    tc_msg msg;
    unsigned roles; /* the "who" of docs/protocol.md */
    fspec f[4];
} mspec;

#define SESSION_ID                                                                                 \
    {                                                                                              \
        "session_id", 'i', true, 1, MAX_ID                                                         \
    }

static const mspec specs[] = {
    {"hello", TC_MSG_HELLO, ALL_ROLES, {{"protocol", 'i', false, 0, 1000}}},
    {"ping", TC_MSG_PING, ALL_ROLES, {{0}}},
    {"customer.join", TC_MSG_CUSTOMER_JOIN, TC_ROLE_ANON, {{"desk", 's', true, 1, 31}}},
    {"customer.redeem", TC_MSG_CUSTOMER_REDEEM, TC_ROLE_ANON, {{"code", 's', true, 1, 64}}},
    {"customer.resume", TC_MSG_CUSTOMER_RESUME, TC_ROLE_ANON, {{"token", 's', true, 1, 64}}},
    {"customer.leave", TC_MSG_CUSTOMER_LEAVE, TC_ROLE_CUSTOMER, {{0}}},
    {"customer.rate",
     TC_MSG_CUSTOMER_RATE,
     TC_ROLE_CUSTOMER | TC_ROLE_ANON, /* a fresh connection rates with the token */
     {{"rating", 'i', true, 1, 5}, {"comment", 's', false, 0, 1000}, {"token", 's', false, 1, 64}}},
    /* "anyone" who has no role yet: a connection keeps one role for its life */
    {"login",
     TC_MSG_LOGIN,
     TC_ROLE_ANON,
     {{"username", 's', true, 1, 63}, {"password", 's', true, 1, 1024}}},
    {"logout", TC_MSG_LOGOUT, ACCOUNT, {{0}}},
    {"agent.state",
     TC_MSG_AGENT_STATE,
     TC_ROLE_AGENT,
     {{"state", 's', true, 1, 16}, {"reason", 's', false, 0, 64}}},
    {"agent.accept", TC_MSG_AGENT_ACCEPT, TC_ROLE_AGENT, {SESSION_ID}},
    {"agent.decline", TC_MSG_AGENT_DECLINE, TC_ROLE_AGENT, {SESSION_ID}},
    {"agent.extend_wrap_up", TC_MSG_AGENT_EXTEND_WRAP_UP, TC_ROLE_AGENT, {SESSION_ID}},
    {"agent.outcome",
     TC_MSG_AGENT_OUTCOME,
     TC_ROLE_AGENT,
     {SESSION_ID, {"code", 's', true, 1, 64}, {"notes", 's', false, 0, 2000}}},
    {"invite.create",
     TC_MSG_INVITE_CREATE,
     ACCOUNT,
     {{"desk", 's', false, 1, 31},
      {"case_ref", 's', true, 1, 128},
      {"note", 's', false, 0, 500},
      {"valid_s", 'i', false, 1, 7 * 86400}}},
    {"stats.live", TC_MSG_STATS_LIVE, TC_ROLE_OPS, {{0}}},
    {"queue.watch", TC_MSG_QUEUE_WATCH, ACCOUNT, {{0}}},
    {"offer", TC_MSG_OFFER, MEDIA, {{"sdp", 's', true, 1, 65536}}},
    {"answer", TC_MSG_ANSWER, MEDIA, {{"sdp", 's', true, 1, 65536}}},
    {"candidate",
     TC_MSG_CANDIDATE,
     MEDIA,
     {{"candidate", 's', true, 0, 1024},
      {"sdpMid", 's', false, 0, 32},
      {"sdpMLineIndex", 'i', false, 0, 63}}},
    {"hangup", TC_MSG_HANGUP, MEDIA, {{0}}},
};
#define NSPECS (sizeof specs / sizeof specs[0])

static json_t *str_of_len(int64_t len)
{
    char *s = malloc((size_t)len + 1);
    assert_non_null(s);
    memset(s, 'a', (size_t)len);
    s[len] = '\0';
    json_t *v = json_string(s);
    free(s);
    assert_non_null(v);
    return v;
}

static json_t *valid_value(const fspec *f, bool at_max)
{
    if (f->kind == 'i')
        return json_integer(at_max ? f->max : f->min);
    return str_of_len(at_max ? f->max : (f->min > 0 ? f->min : 1));
}

/* {"type", "id": 1, and every required field (or every field) at a valid value} */
static json_t *message(const mspec *m, bool all_fields, bool at_max)
{
    json_t *o = json_pack("{s:s, s:i}", "type", m->type, "id", 1);
    for (int i = 0; i < 4 && m->f[i].name; i++)
        if (all_fields || m->f[i].required)
            json_object_set_new(o, m->f[i].name, valid_value(&m->f[i], at_max));
    return o;
}

typedef struct result {
    int rc;
    tc_msg type;
    bool has_id;
    json_int_t id;
    tc_protocol_error err;
} result;

static result parse_text(const char *text, size_t len)
{
    result res;
    memset(&res, 0, sizeof res);
    tc_request req;
    res.rc = tc_protocol_parse(text, len, &req, &res.err);
    res.type = req.type;
    res.has_id = req.id != NULL;
    res.id = json_is_integer(req.id) ? json_integer_value(req.id) : -1;
    if (res.rc == 0)
        assert_non_null(req.root);
    tc_request_cleanup(&req);
    assert_null(req.root);
    return res;
}

static result parse_str(const char *text)
{
    return parse_text(text, strlen(text));
}

static result parse_json(json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    assert_non_null(text);
    result res = parse_text(text, strlen(text));
    free(text);
    json_decref(msg);
    return res;
}

static void expect_bad(const result *res, const char *code, const char *field, const char *ctx)
{
    if (res->rc != -EINVAL || strcmp(res->err.code, code) != 0)
        fail_msg("%s: expected %s, got rc %d code %s (%s)", ctx, code, res->rc,
                 res->rc ? res->err.code : "-", res->rc ? res->err.message : "");
    if (field) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%s'", field);
        if (!strstr(res->err.message, quoted))
            fail_msg("%s: message \"%s\" does not name %s", ctx, res->err.message, quoted);
    }
}

static void expect_ok(const result *res, tc_msg type, const char *ctx)
{
    if (res->rc != 0)
        fail_msg("%s: expected success, got %s: %s", ctx, res->err.code, res->err.message);
    assert_int_equal(res->type, type);
    assert_true(res->has_id);
    assert_int_equal(res->id, 1);
}

/* ---- every request type -------------------------------------------------------- */

static void every_type_is_in_the_table(void **state)
{
    (void)state;
    assert_int_equal(NSPECS, TC_MSG_COUNT);
    for (size_t i = 0; i < NSPECS; i++) {
        assert_string_equal(tc_protocol_type_name(specs[i].msg), specs[i].type);
        for (size_t j = i + 1; j < NSPECS; j++)
            assert_int_not_equal(specs[i].msg, specs[j].msg);
    }
    assert_string_equal(tc_protocol_type_name(TC_MSG_COUNT), "");
    assert_int_equal(tc_protocol_roles(TC_MSG_COUNT), 0);
}

static void roles_match_the_document(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPECS; i++) {
        unsigned got = tc_protocol_roles(specs[i].msg) & ALL_ROLES;
        if (got != specs[i].roles)
            fail_msg("%s: roles 0x%x, docs say 0x%x", specs[i].type, got, specs[i].roles);
    }
}

static void minimal_and_full_messages_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPECS; i++) {
        const mspec *m = &specs[i];
        result res = parse_json(message(m, false, false));
        expect_ok(&res, m->msg, m->type);
        res = parse_json(message(m, true, false));
        expect_ok(&res, m->msg, m->type);
        res = parse_json(message(m, true, true)); /* every field at its upper limit */
        expect_ok(&res, m->msg, m->type);
        /* unknown fields are ignored; optional fields may be null */
        json_t *o = message(m, false, false);
        json_object_set_new(o, "x-future", json_true());
        for (int f = 0; f < 4 && m->f[f].name; f++)
            if (!m->f[f].required)
                json_object_set_new(o, m->f[f].name, json_null());
        res = parse_json(o);
        expect_ok(&res, m->msg, m->type);
    }
}

static void missing_required_field_is_named(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < NSPECS; i++) {
        const mspec *m = &specs[i];
        for (int f = 0; f < 4 && m->f[f].name; f++) {
            if (!m->f[f].required)
                continue;
            char ctx[96];
            snprintf(ctx, sizeof ctx, "%s without %s", m->type, m->f[f].name);
            json_t *o = message(m, true, false);
            json_object_del(o, m->f[f].name);
            result res = parse_json(o);
            expect_bad(&res, "bad_request", m->f[f].name, ctx);
            assert_true(res.has_id); /* the error reply can echo the id */
            assert_int_equal(res.id, 1);
            o = message(m, true, false);
            json_object_set_new(o, m->f[f].name, json_null());
            res = parse_json(o);
            expect_bad(&res, "bad_request", m->f[f].name, ctx);
            checked++;
        }
    }
    assert_int_equal(checked, 16);
}

static void wrong_typed_field_is_named(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPECS; i++) {
        const mspec *m = &specs[i];
        for (int f = 0; f < 4 && m->f[f].name; f++) {
            json_t *wrong[] = {
                m->f[f].kind == 's' ? json_integer(5) : json_string("5"),
                json_real(1.5),
                json_true(),
                json_pack("[i]", 1),
                json_pack("{s:i}", "a", 1),
            };
            for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
                char ctx[96];
                snprintf(ctx, sizeof ctx, "%s with %s of the wrong type (%zu)", m->type,
                         m->f[f].name, w);
                json_t *o = message(m, true, false);
                json_object_set_new(o, m->f[f].name, wrong[w]);
                result res = parse_json(o);
                expect_bad(&res, "bad_request", m->f[f].name, ctx);
            }
        }
    }
}

static void out_of_range_field_is_named(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPECS; i++) {
        const mspec *m = &specs[i];
        for (int f = 0; f < 4 && m->f[f].name; f++) {
            const fspec *fs = &m->f[f];
            char ctx[96];
            json_t *too_low = fs->kind == 'i' ? json_integer(fs->min - 1)
                                              : (fs->min > 0 ? json_string("") : NULL);
            json_t *too_high =
                fs->kind == 'i' ? json_integer(fs->max + 1) : str_of_len(fs->max + 1);
            json_t *cases[] = {too_low, too_high};
            for (int c = 0; c < 2; c++) {
                if (!cases[c])
                    continue;
                snprintf(ctx, sizeof ctx, "%s with %s too %s", m->type, fs->name,
                         c ? "high" : "low");
                json_t *o = message(m, true, false);
                json_object_set_new(o, fs->name, cases[c]);
                result res = parse_json(o);
                expect_bad(&res, "bad_request", fs->name, ctx);
            }
        }
    }
    /* a few from the document, spelled out */
    result res = parse_str("{\"type\":\"customer.rate\",\"id\":1,\"rating\":0}");
    expect_bad(&res, "bad_request", "rating", "rating 0");
    res = parse_json(json_pack("{s:s, s:i, s:i}", "type", "customer.rate", "id", 1, "rating", 6));
    expect_bad(&res, "bad_request", "rating", "rating 6");
    res = parse_json(
        json_pack("{s:s, s:i, s:I}", "type", "agent.accept", "id", 1, "session_id", (json_int_t)0));
    expect_bad(&res, "bad_request", "session_id", "session_id 0");
    res = parse_json(json_pack("{s:s, s:i, s:I}", "type", "agent.accept", "id", 1, "session_id",
                               (json_int_t)-7));
    expect_bad(&res, "bad_request", "session_id", "session_id -7");
}

static void embedded_nul_is_refused(void **state)
{
    (void)state;
    const char text[] = "{\"type\":\"customer.join\",\"id\":1,\"desk\":\"a\\u0000b\"}";
    result res = parse_text(text, sizeof text - 1);
    assert_int_equal(res.rc, -EINVAL);
}

/* ---- the id ----------------------------------------------------------------------- */

static void id_rules(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"type\":\"ping\"}",
        "{\"type\":\"ping\",\"id\":-1}",
        "{\"type\":\"ping\",\"id\":1.5}",
        "{\"type\":\"ping\",\"id\":1.0}",
        "{\"type\":\"ping\",\"id\":{}}",
        "{\"type\":\"ping\",\"id\":[1]}",
        "{\"type\":\"ping\",\"id\":true}",
        "{\"type\":\"ping\",\"id\":null}",
        "{\"type\":\"ping\",\"id\":9007199254740993}",
        "{\"type\":\"ping\",\"id\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
        "{\"id\":{},\"type\":\"no.such\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        result res = parse_text(bad[i], strlen(bad[i]));
        expect_bad(&res, "bad_request", "id", bad[i]);
        assert_false(res.has_id);
    }
    const char *good[] = {
        "{\"type\":\"ping\",\"id\":0}",
        "{\"type\":\"ping\",\"id\":9007199254740992}",
        "{\"type\":\"ping\",\"id\":\"\"}",
        "{\"type\":\"ping\",\"id\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        result res = parse_text(good[i], strlen(good[i]));
        if (res.rc != 0)
            fail_msg("%s: %s", good[i], res.err.message);
        assert_int_equal(res.type, TC_MSG_PING);
        assert_true(res.has_id);
    }
    result res = parse_text(good[1], strlen(good[1]));
    assert_int_equal(res.id, MAX_ID);
}

static void bad_json(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        " ",
        "{",
        "[]",
        "[{\"type\":\"ping\",\"id\":1}]",
        "42",
        "\"ping\"",
        "null",
        "{\"type\":\"ping\",\"id\":1}{}",
        "{\"type\":\"ping\",\"id\":1,\"id\":2}",
        "{\"type\":\"ping\",\"type\":\"hello\",\"id\":1}",
        "{'type':'ping','id':1}",
        "{\"type\":\"ping\",\"id\":1,}",
        "\xff\xfe{}",
        "{\"type\":\"ping\",\"id\":123456789012345678901234567890}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        result res = parse_text(bad[i], strlen(bad[i]));
        expect_bad(&res, "bad_json", NULL, bad[i]);
        assert_false(res.has_id);
    }
    /* len bounds the text: a valid object cut short is not JSON */
    const char *t = "{\"type\":\"ping\",\"id\":1}";
    result res = parse_text(t, strlen(t) - 1);
    expect_bad(&res, "bad_json", NULL, "cut");
    res = parse_text(NULL, 0);
    expect_bad(&res, "bad_json", NULL, "NULL");
}

static void type_rules(void **state)
{
    (void)state;
    result res = parse_str("{\"type\":\"no.such\",\"id\":7}");
    expect_bad(&res, "unknown_type", NULL, "unknown");
    assert_true(res.has_id);
    assert_int_equal(res.id, 7);
    assert_non_null(strstr(res.err.message, "no.such"));
    const char *cases[] = {
        "{\"id\":7}",
        "{\"id\":7,\"type\":5}",
        "{\"id\":7,\"type\":null}",
        "{\"id\":7,\"type\":[\"ping\"]}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        res = parse_text(cases[i], strlen(cases[i]));
        expect_bad(&res, "bad_request", "type", cases[i]);
        assert_true(res.has_id);
        assert_int_equal(res.id, 7);
    }
    const char *unknown[] = {"PING", "ping ", "hello.ok", "", "customer"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        json_t *o = json_pack("{s:s, s:i}", "type", unknown[i], "id", 7);
        res = parse_json(o);
        expect_bad(&res, "unknown_type", NULL, unknown[i]);
    }
}

/* ---- field access and builders ----------------------------------------------------- */

static void field_access(void **state)
{
    (void)state;
    const char *t =
        "{\"type\":\"invite.create\",\"id\":\"abc\",\"case_ref\":\"C-1\",\"valid_s\":90}";
    tc_request req;
    tc_protocol_error err;
    assert_int_equal(tc_protocol_parse(t, strlen(t), &req, &err), 0);
    assert_int_equal(req.type, TC_MSG_INVITE_CREATE);
    assert_string_equal(json_string_value(req.id), "abc");
    assert_string_equal(tc_request_str(&req, "case_ref", "x"), "C-1");
    assert_string_equal(tc_request_str(&req, "desk", "urgent_sim"), "urgent_sim");
    assert_string_equal(tc_request_str(&req, "valid_s", "d"), "d");
    assert_int_equal(tc_request_int(&req, "valid_s", 0), 90);
    assert_int_equal(tc_request_int(&req, "note", -3), -3);
    tc_request_cleanup(&req);
}

static json_t *load(char *text)
{
    assert_non_null(text);
    json_error_t jerr;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        fail_msg("builder wrote bad JSON: %s (%s)", text, jerr.text);
    assert_true(json_is_object(o));
    free(text);
    return o;
}

static void reply_builder(void **state)
{
    (void)state;
    const char *t = "{\"type\":\"customer.join\",\"id\":17,\"desk\":\"broadband\"}";
    tc_request req;
    tc_protocol_error err;
    assert_int_equal(tc_protocol_parse(t, strlen(t), &req, &err), 0);
    json_t *o = load(tc_protocol_reply(
        &req, json_pack("{s:i, s:s, s:i}", "session_id", 5, "desk", "broadband", "position", 1)));
    assert_int_equal(json_object_size(o), 5);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "customer.join.ok");
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 17);
    assert_int_equal(json_integer_value(json_object_get(o, "session_id")), 5);
    assert_string_equal(json_string_value(json_object_get(o, "desk")), "broadband");
    assert_int_equal(json_integer_value(json_object_get(o, "position")), 1);
    json_decref(o);
    tc_request_cleanup(&req);

    t = "{\"type\":\"logout\",\"id\":\"x-1\"}";
    assert_int_equal(tc_protocol_parse(t, strlen(t), &req, &err), 0);
    o = load(tc_protocol_reply(&req, NULL));
    assert_int_equal(json_object_size(o), 2);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "logout.ok");
    assert_string_equal(json_string_value(json_object_get(o, "id")), "x-1");
    json_decref(o);
    tc_request_cleanup(&req);
}

static void error_builder(void **state)
{
    (void)state;
    json_t *id = json_integer(3);
    json_t *o = load(tc_protocol_error_text(id, "bad_request", "field 'desk' is required", NULL));
    assert_int_equal(json_object_size(o), 4);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "error");
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 3);
    assert_string_equal(json_string_value(json_object_get(o, "code")), "bad_request");
    assert_string_equal(json_string_value(json_object_get(o, "message")),
                        "field 'desk' is required");
    json_decref(o);
    assert_int_equal(id->refcount, 1); /* borrowed, not consumed */
    json_decref(id);

    /* no id: "id": null */
    o = load(tc_protocol_error_text(NULL, "bad_json", "expected one JSON object per frame", NULL));
    assert_int_equal(json_object_size(o), 4);
    assert_true(json_is_null(json_object_get(o, "id")));
    json_decref(o);

    /* extra members are added */
    o = load(tc_protocol_error_text(NULL, "throttled", "later",
                                    json_pack("{s:i}", "retry_after_s", 590)));
    assert_int_equal(json_object_size(o), 5);
    assert_int_equal(json_integer_value(json_object_get(o, "retry_after_s")), 590);
    assert_string_equal(json_string_value(json_object_get(o, "code")), "throttled");
    json_decref(o);

    /* the id of a request that failed after its id was read */
    tc_request req;
    tc_protocol_error err;
    const char *t = "{\"type\":\"customer.join\",\"id\":\"q\"}";
    assert_int_equal(tc_protocol_parse(t, strlen(t), &req, &err), -EINVAL);
    o = load(tc_protocol_error_text(req.id, err.code, err.message, NULL));
    assert_string_equal(json_string_value(json_object_get(o, "id")), "q");
    assert_string_equal(json_string_value(json_object_get(o, "code")), "bad_request");
    json_decref(o);
    tc_request_cleanup(&req);
}

static void event_builder(void **state)
{
    (void)state;
    json_t *o = load(tc_protocol_event("queue.update", json_pack("{s:i, s:i, s:i}", "session_id",
                                                                 17, "position", 1, "wait_s", 0)));
    assert_int_equal(json_object_size(o), 4);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "queue.update");
    assert_null(json_object_get(o, "id"));
    assert_int_equal(json_integer_value(json_object_get(o, "session_id")), 17);
    assert_int_equal(json_integer_value(json_object_get(o, "position")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "wait_s")), 0);
    json_decref(o);
    o = load(tc_protocol_event("session.replaced", NULL));
    assert_int_equal(json_object_size(o), 1);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "session.replaced");
    json_decref(o);
}

/* The hand-written queue.update is the same object the generic builder makes,
 * at the extremes of every field. */
static void queue_update_builder(void **state)
{
    (void)state;
    const int64_t ids[] = {1, INT64_MAX, INT64_MIN};
    const int ints[] = {0, 1, INT_MAX, INT_MIN};
    char text[TC_QUEUE_UPDATE_MAX];
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++) {
            size_t len = tc_protocol_queue_update(text, sizeof text, ids[i], ints[j], ints[3 - j],
                                                  ints[(j + 1) % 4]);
            assert_true(len > 0 && len == strlen(text));
            json_error_t jerr;
            json_t *got = json_loads(text, 0, &jerr);
            assert_non_null(got);
            json_t *want = load(tc_protocol_event(
                "queue.update",
                json_pack("{s:I, s:i, s:i, s:i}", "session_id", (json_int_t)ids[i], "position",
                          ints[j], "wait_s", ints[3 - j], "agents", ints[(j + 1) % 4])));
            assert_true(json_equal(got, want));
            json_decref(got);
            json_decref(want);
        }
    assert_int_equal(tc_protocol_queue_update(text, 20, 1, 1, 1, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_is_in_the_table),
        cmocka_unit_test(roles_match_the_document),
        cmocka_unit_test(minimal_and_full_messages_parse),
        cmocka_unit_test(missing_required_field_is_named),
        cmocka_unit_test(wrong_typed_field_is_named),
        cmocka_unit_test(out_of_range_field_is_named),
        cmocka_unit_test(embedded_nul_is_refused),
        cmocka_unit_test(id_rules),
        cmocka_unit_test(bad_json),
        cmocka_unit_test(type_rules),
        cmocka_unit_test(field_access),
        cmocka_unit_test(reply_builder),
        cmocka_unit_test(error_builder),
        cmocka_unit_test(event_builder),
        cmocka_unit_test(queue_update_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
