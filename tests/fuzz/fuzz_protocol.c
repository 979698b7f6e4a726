/* fuzz_protocol: validate one frame; whether it parses or not, build the reply
 * or error a connection would send and check that it is a JSON object with the
 * request's id; on success every field the handlers read has its type. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telecounter/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() is compiled out in release builds; a fuzz check must not be. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_protocol: check failed: %s\n", #cond);                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_json(char *text, const json_t *want_id)
{
    CHECK(text != NULL);
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    CHECK(json_is_object(o));
    CHECK(json_is_string(json_object_get(o, "type")));
    json_t *id = json_object_get(o, "id");
    CHECK(id != NULL);
    CHECK(want_id ? json_equal(id, want_id) : json_is_null(id));
    json_decref(o);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_request req;
    tc_protocol_error err;
    int rc = tc_protocol_parse((const char *)data, size, &req, &err);
    if (rc == 0) {
        CHECK(req.root && req.id);
        CHECK((unsigned)req.type < TC_MSG_COUNT);
        CHECK(tc_protocol_roles(req.type) != 0);
        const char *name = tc_protocol_type_name(req.type);
        CHECK(strcmp(json_string_value(json_object_get(req.root, "type")), name) == 0);
        (void)tc_request_str(&req, "desk", "");
        (void)tc_request_int(&req, "session_id", 0);
        check_json(tc_protocol_reply(&req, json_pack("{s:i}", "n", 1)), req.id);
        check_json(tc_protocol_reply(&req, NULL), req.id);
    } else {
        CHECK(rc < 0 && err.code != NULL);
        CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
    }
    check_json(
        tc_protocol_error_text(req.id, rc ? err.code : "internal", rc ? err.message : "x", NULL),
        req.id);
    tc_request_cleanup(&req);
    return 0;
}
