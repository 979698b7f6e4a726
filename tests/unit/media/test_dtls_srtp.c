/*
 * Two tc_dtls ends joined back to back in memory: the handshake completes, the
 * exported SRTP keys pair up crosswise, SRTP packets pass between the ends, and
 * a peer whose certificate does not match its announced fingerprint fails, and a
 * released end only watches for an alert.
 */
#include "telecounter/dtls.h"
#include "telecounter/srtp.h"

#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define MAX_QUEUED 64

typedef struct wire {
    uint8_t data[MAX_QUEUED][1500];
    size_t len[MAX_QUEUED];
    int count;
} wire;

static void on_send(void *user, const uint8_t *data, size_t len)
{
    wire *w = user;
    assert_true(len <= TC_DTLS_MTU);
    assert_true(w->count < MAX_QUEUED);
    memcpy(w->data[w->count], data, len);
    w->len[w->count++] = len;
}

/* Delivers every queued datagram of w to d. */
static void deliver(wire *w, tc_dtls *d)
{
    wire copy = *w;
    w->count = 0;
    for (int i = 0; i < copy.count; i++)
        tc_dtls_feed(d, copy.data[i], copy.len[i]);
}

typedef struct pair {
    tc_dtls_ctx *server_ctx, *client_ctx;
    tc_dtls *server, *client;
    wire to_server, to_client;
} pair;

static void handshake(pair *p, const uint8_t *server_sees_fp, const uint8_t *client_sees_fp)
{
    p->server = tc_dtls_create(p->server_ctx, server_sees_fp, true, on_send, &p->to_client);
    p->client = tc_dtls_create(p->client_ctx, client_sees_fp, false, on_send, &p->to_server);
    assert_non_null(p->server);
    assert_non_null(p->client);
    tc_dtls_start(p->client);
    for (int round = 0; round < 10; round++) {
        deliver(&p->to_server, p->server);
        deliver(&p->to_client, p->client);
    }
}

static int setup(void **state)
{
    static pair p;
    memset(&p, 0, sizeof p);
    p.server_ctx = tc_dtls_ctx_create();
    p.client_ctx = tc_dtls_ctx_create();
    *state = &p;
    return p.server_ctx && p.client_ctx ? 0 : -1;
}

static int teardown(void **state)
{
    pair *p = *state;
    tc_dtls_destroy(p->server);
    tc_dtls_destroy(p->client);
    tc_dtls_ctx_destroy(p->server_ctx);
    tc_dtls_ctx_destroy(p->client_ctx);
    return 0;
}

static void test_handshake_and_keys(void **state)
{
    pair *p = *state;
    handshake(p, tc_dtls_ctx_fingerprint(p->client_ctx), tc_dtls_ctx_fingerprint(p->server_ctx));
    assert_int_equal(tc_dtls_state_of(p->server), TC_DTLS_CONNECTED);
    assert_int_equal(tc_dtls_state_of(p->client), TC_DTLS_CONNECTED);

    tc_srtp_profile ps, pc;
    uint8_t s_local[TC_SRTP_MAX_KEY_SALT], s_remote[TC_SRTP_MAX_KEY_SALT];
    uint8_t c_local[TC_SRTP_MAX_KEY_SALT], c_remote[TC_SRTP_MAX_KEY_SALT];
    assert_int_equal(tc_dtls_srtp_keys(p->server, &ps, s_local, s_remote), 0);
    assert_int_equal(tc_dtls_srtp_keys(p->client, &pc, c_local, c_remote), 0);
    assert_int_equal(ps, pc);
    /* Both ends offer GCM first, and the server prefers it. */
    assert_int_equal(ps, TC_SRTP_AEAD_AES_128_GCM);
    size_t n = tc_srtp_key_len(ps) + tc_srtp_salt_len(ps);
    assert_memory_equal(s_local, c_remote, n);
    assert_memory_equal(s_remote, c_local, n);
    assert_memory_not_equal(s_local, s_remote, n);

    tc_srtp *server = tc_srtp_create(ps, s_local, s_remote);
    tc_srtp *client = tc_srtp_create(pc, c_local, c_remote);
    assert_non_null(server);
    assert_non_null(client);
    uint8_t pkt[200 + TC_SRTP_MAX_TRAILER] = {0x80, 111, 0x12, 0x34, 0,    0,
                                              0,    1,   0xde, 0xad, 0xbe, 0xef};
    memset(pkt + 12, 0x55, 100);
    size_t len = 112;
    assert_int_equal(tc_srtp_protect_rtp(server, pkt, &len, sizeof pkt), 0);
    assert_true(len > 112);
    uint8_t copy[sizeof pkt];
    memcpy(copy, pkt, len);
    size_t copy_len = len;
    assert_int_equal(tc_srtp_unprotect_rtp(client, pkt, &len), 0);
    assert_int_equal(len, 112);
    assert_int_equal(pkt[12], 0x55);
    /* The same packet again is a replay; a flipped bit fails authentication. */
    size_t again = copy_len;
    uint8_t replay[sizeof pkt];
    memcpy(replay, copy, copy_len);
    assert_int_equal(tc_srtp_unprotect_rtp(client, replay, &again), -EEXIST);
    copy[20] ^= 1;
    copy[3] = 0x35; /* a new sequence number, so it is not a replay */
    assert_int_equal(tc_srtp_unprotect_rtp(client, copy, &copy_len), -EACCES);
    tc_srtp_destroy(server);
    tc_srtp_destroy(client);
}

static void test_wrong_fingerprint_fails(void **state)
{
    pair *p = *state;
    uint8_t wrong[32];
    memcpy(wrong, tc_dtls_ctx_fingerprint(p->client_ctx), 32);
    wrong[7] ^= 0x80;
    handshake(p, wrong, tc_dtls_ctx_fingerprint(p->server_ctx));
    assert_int_equal(tc_dtls_state_of(p->server), TC_DTLS_FAILED);
    tc_srtp_profile prof;
    uint8_t a[TC_SRTP_MAX_KEY_SALT], b[TC_SRTP_MAX_KEY_SALT];
    assert_int_equal(tc_dtls_srtp_keys(p->server, &prof, a, b), -EINVAL);
}

/* A client that offers only AES-CM gets AES-CM from a server that prefers GCM. */
static void test_client_limited_to_aes_cm(void **state)
{
    pair *p = *state;
    assert_int_equal(tc_dtls_ctx_set_srtp_profiles(p->client_ctx, "SRTP_NONSENSE"), -EINVAL);
    assert_int_equal(tc_dtls_ctx_set_srtp_profiles(p->client_ctx, "SRTP_AES128_CM_SHA1_80"), 0);
    handshake(p, tc_dtls_ctx_fingerprint(p->client_ctx), tc_dtls_ctx_fingerprint(p->server_ctx));
    tc_srtp_profile ps, pc;
    uint8_t a[TC_SRTP_MAX_KEY_SALT], b[TC_SRTP_MAX_KEY_SALT];
    assert_int_equal(tc_dtls_srtp_keys(p->server, &ps, a, b), 0);
    assert_int_equal(tc_dtls_srtp_keys(p->client, &pc, a, b), 0);
    assert_int_equal(ps, TC_SRTP_AES128_CM_SHA1_80);
    assert_int_equal(pc, TC_SRTP_AES128_CM_SHA1_80);
}

/* Released after the handshake: keys are no longer readable, a record that is
 * not an alert changes nothing, an alert record means the peer closed. */
static void test_release(void **state)
{
    pair *p = *state;
    handshake(p, tc_dtls_ctx_fingerprint(p->client_ctx), tc_dtls_ctx_fingerprint(p->server_ctx));
    assert_false(tc_dtls_released(p->server));
    tc_dtls_release(p->server);
    assert_true(tc_dtls_released(p->server));
    tc_dtls_release(p->server); /* again: nothing more to free */
    assert_int_equal(tc_dtls_state_of(p->server), TC_DTLS_CONNECTED);
    assert_int_equal(tc_dtls_timeout_ms(p->server), -1);
    tc_srtp_profile prof;
    uint8_t a[TC_SRTP_MAX_KEY_SALT], b[TC_SRTP_MAX_KEY_SALT];
    assert_int_equal(tc_dtls_srtp_keys(p->server, &prof, a, b), -EINVAL);
    /* DTLS 1.2 record headers, epoch 1: application data, then a short alert. */
    uint8_t record[13 + 26] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 26};
    assert_int_equal(tc_dtls_feed(p->server, record, sizeof record), TC_DTLS_CONNECTED);
    record[0] = 21;
    assert_int_equal(tc_dtls_feed(p->server, record, 12), TC_DTLS_CONNECTED);
    assert_int_equal(tc_dtls_feed(p->server, record, sizeof record), TC_DTLS_CLOSED);
}

/* Release before the handshake ends would lose flights still needed: refused. */
static void test_release_refused_while_handshaking(void **state)
{
    pair *p = *state;
    p->server = tc_dtls_create(p->server_ctx, tc_dtls_ctx_fingerprint(p->client_ctx), true, on_send,
                               &p->to_client);
    p->client = tc_dtls_create(p->client_ctx, tc_dtls_ctx_fingerprint(p->server_ctx), false,
                               on_send, &p->to_server);
    tc_dtls_start(p->client);
    deliver(&p->to_server, p->server);
    tc_dtls_release(p->server);
    assert_false(tc_dtls_released(p->server));
    for (int round = 0; round < 10; round++) {
        deliver(&p->to_client, p->client);
        deliver(&p->to_server, p->server);
    }
    assert_int_equal(tc_dtls_state_of(p->server), TC_DTLS_CONNECTED);
    assert_int_equal(tc_dtls_state_of(p->client), TC_DTLS_CONNECTED);
}

static void test_garbage_does_not_crash(void **state)
{
    pair *p = *state;
    p->server = tc_dtls_create(p->server_ctx, tc_dtls_ctx_fingerprint(p->client_ctx), true, on_send,
                               &p->to_client);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 22);
    for (size_t len = 0; len < sizeof junk; len += 13)
        tc_dtls_feed(p->server, junk, len);
    assert_int_not_equal(tc_dtls_state_of(p->server), TC_DTLS_CONNECTED);
}

int main(void)
{
    tc_srtp_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fingerprint_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_limited_to_aes_cm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_refused_while_handshaking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_does_not_crash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
