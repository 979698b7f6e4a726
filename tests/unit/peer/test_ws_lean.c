/*
 * Unit tests of the lean WebSocket client's pure parts (tools/peer/ws_lean.h):
 * frames of every length encoding, whole and cut short, the frames a server
 * must not send, and which URLs it accepts (loopback only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "peer/ws_lean.h"

#include <errno.h>
#include <string.h>

static uint8_t payload[200000];
static uint8_t frame[200020];

/* A server frame (unmasked) of len payload bytes built from the masked writer's output. */
static size_t server_frame(size_t len)
{
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t n = tc_wsl_frame_write(frame, sizeof frame, TC_WSL_OP_TEXT, payload, len, mask);
    size_t head = len < 126 ? 2 : len <= 65535 ? 4 : 10;
    assert_int_equal(n, head + 4 + len);
    assert_true(frame[1] & 0x80); /* the client masks */
    frame[1] &= 0x7F;
    memmove(frame + head, frame + head + 4, len);
    for (size_t i = 0; i < len; i++)
        frame[head + i] ^= mask[i & 3];
    return head + len;
}

static void frames_of_every_length_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 200000};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        size_t whole = server_frame(lens[k]);
        tc_wsl_frame f;
        for (size_t cut = 0; cut < whole; cut += cut < 20 ? 1 : 997)
            assert_int_equal(tc_wsl_frame_parse(frame, cut, &f), 0);
        assert_int_equal(tc_wsl_frame_parse(frame, whole, &f), (ssize_t)whole);
        assert_true(f.fin);
        assert_int_equal(f.opcode, TC_WSL_OP_TEXT);
        assert_int_equal(f.len, lens[k]);
        if (lens[k])
            assert_memory_equal(f.payload, payload, lens[k]);
    }
}

static void frames_a_server_must_not_send(void **state)
{
    (void)state;
    tc_wsl_frame f;
    const uint8_t masked[] = {0x81, 0x81, 0, 0, 0, 0, 'a'};
    const uint8_t rsv[] = {0xC1, 0x00};
    const uint8_t opcode3[] = {0x83, 0x00};
    const uint8_t fragmented_ping[] = {0x09, 0x00};
    const uint8_t long_ping[] = {0x89, 126, 0, 126};
    const uint8_t huge[] = {0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(tc_wsl_frame_parse(masked, sizeof masked, &f), -EPROTO);
    assert_int_equal(tc_wsl_frame_parse(rsv, sizeof rsv, &f), -EPROTO);
    assert_int_equal(tc_wsl_frame_parse(opcode3, sizeof opcode3, &f), -EPROTO);
    assert_int_equal(tc_wsl_frame_parse(fragmented_ping, sizeof fragmented_ping, &f), -EPROTO);
    assert_int_equal(tc_wsl_frame_parse(long_ping, sizeof long_ping, &f), -EPROTO);
    assert_int_equal(tc_wsl_frame_parse(huge, sizeof huge, &f), -EMSGSIZE);
}

static void writer_refuses_a_small_buffer(void **state)
{
    (void)state;
    const uint8_t mask[4] = {9, 9, 9, 9};
    uint8_t out[16];
    assert_int_equal(tc_wsl_frame_write(out, sizeof out, TC_WSL_OP_TEXT, payload, 11, mask), 0);
    assert_int_equal(tc_wsl_frame_write(out, sizeof out, TC_WSL_OP_TEXT, payload, 10, mask), 16);
}

static void only_loopback_urls(void **state)
{
    (void)state;
    tc_wsl_target t;
    assert_int_equal(tc_wsl_target_parse("wss://127.0.0.1:8443/ws", &t), 0);
    assert_string_equal(t.path, "/ws");
    assert_string_equal(t.host, "127.0.0.1:8443");
    assert_int_equal(tc_wsl_target_parse("wss://127.9.9.9", &t), 0);
    assert_string_equal(t.path, "/");
    assert_int_equal(tc_wsl_target_parse("wss://[::1]:443/x?y", &t), 0);
    assert_string_equal(t.path, "/x?y");
    assert_int_equal(tc_wsl_target_parse("wss://localhost/", &t), 0);
    assert_int_equal(tc_wsl_target_parse("wss://128.0.0.1/", &t), -EPERM);
    assert_int_equal(tc_wsl_target_parse("wss://[::2]/", &t), -EPERM);
    assert_int_equal(tc_wsl_target_parse("wss://192.0.2.2/", &t), -EPERM);
    assert_int_equal(tc_wsl_target_parse("https://127.0.0.1/", &t), -EPROTONOSUPPORT);
    const char *malformed[] = {"wss://[::1",         "wss://127.0.0.1:0/", "wss://127.0.0.1:99999/",
                               "wss://127.0.0.1:x/", "127.0.0.1",          "wss:///ws"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++)
        assert_int_not_equal(tc_wsl_target_parse(malformed[i], &t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_of_every_length_parse),
        cmocka_unit_test(frames_a_server_must_not_send),
        cmocka_unit_test(writer_refuses_a_small_buffer),
        cmocka_unit_test(only_loopback_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
