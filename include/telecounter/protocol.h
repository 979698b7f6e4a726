/*
 * protocol: the JSON WebSocket protocol's messages (docs/protocol.md), pure.
 *
 * tc_protocol_parse turns one text frame into a validated request: the JSON is
 * an object, "type" names a known request, "id" is an integer or a short
 * string, and every field the type defines has the right JSON type and range.
 * Handlers may then read fields without checking them again. Unknown fields are
 * ignored (newer clients, older server). Who may send a type is
 * tc_protocol_roles(); the connection checks it, as only it knows its role.
 *
 * Builders return malloc'd JSON text (free()), or NULL when out of memory.
 * Any thread; no state.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TC_PROTOCOL_VERSION 1

typedef enum tc_msg {
    TC_MSG_HELLO = 0,
    TC_MSG_PING,
    TC_MSG_CUSTOMER_JOIN,
    TC_MSG_CUSTOMER_REDEEM,
    TC_MSG_CUSTOMER_RESUME,
    TC_MSG_CUSTOMER_LEAVE,
    TC_MSG_CUSTOMER_RATE,
    TC_MSG_LOGIN,
    TC_MSG_LOGOUT,
    TC_MSG_AGENT_STATE,
    TC_MSG_AGENT_ACCEPT,
    TC_MSG_AGENT_DECLINE,
    TC_MSG_AGENT_OUTCOME,
    TC_MSG_INVITE_CREATE,
    TC_MSG_STATS_LIVE,
    TC_MSG_QUEUE_WATCH,
    TC_MSG_OFFER,
    TC_MSG_ANSWER,
    TC_MSG_CANDIDATE,
    TC_MSG_HANGUP,
    TC_MSG_AGENT_EXTEND_WRAP_UP,
    TC_MSG_COUNT
} tc_msg;

/* Who may send a request; a connection has exactly one of these at a time. */
enum {
    TC_ROLE_ANON = 1u << 0,
    TC_ROLE_CUSTOMER = 1u << 1,
    TC_ROLE_AGENT = 1u << 2,
    TC_ROLE_OPS = 1u << 3,
};

typedef struct tc_request {
    tc_msg type;
    json_t *root; /* owned; the whole message */
    json_t *id;   /* borrowed from root; NULL when absent or invalid */
} tc_request;

typedef struct tc_protocol_error {
    const char *code; /* a stable code from docs/protocol.md */
    char message[160];
} tc_protocol_error;

/*
 * Parses and validates one frame. On success returns 0 and fills req. On failure
 * returns -EINVAL, fills err, and leaves in req whatever was readable (req->id
 * for the error reply); call tc_request_cleanup either way.
 */
int tc_protocol_parse(const char *text, size_t len, tc_request *req, tc_protocol_error *err);
void tc_request_cleanup(tc_request *req);

const char *tc_protocol_type_name(tc_msg type);
unsigned tc_protocol_roles(tc_msg type);

/* Field access after a successful parse: the default when absent. */
const char *tc_request_str(const tc_request *req, const char *field, const char *dflt);
int64_t tc_request_int(const tc_request *req, const char *field, int64_t dflt);

/* {"type": "<type>.ok", "id": ..., ...fields}; fields (may be NULL) is consumed. */
char *tc_protocol_reply(const tc_request *req, json_t *fields);
/* {"type": "error", "id": id or null, "code": ..., "message": ...}; extra may be NULL,
 * is consumed, and its members are added (e.g. retry_after_s). */
char *tc_protocol_error_text(const json_t *id, const char *code, const char *message,
                             json_t *extra);
/* {"type": type, ...fields}; fields (may be NULL) is consumed. */
char *tc_protocol_event(const char *type, json_t *fields);
/* The queue.update event, written into out without jansson: the one event sent
 * to every waiting customer at once. Returns its length (< cap), or 0 when cap
 * is too small; TC_QUEUE_UPDATE_MAX always suffices. */
#define TC_QUEUE_UPDATE_MAX 136
size_t tc_protocol_queue_update(char *out, size_t cap, int64_t session_id, int position, int wait_s,
                                int agents);
