/* Unit tests for rtx_buffer: put/get, overwrite, wraparound, window, limits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "telecounter/rtx_buffer.h"

static void put_seq(tc_rtx_buffer *b, uint16_t seq)
{
    uint8_t pkt[4] = {(uint8_t)(seq >> 8), (uint8_t)seq, 0xAA, 0x55};
    assert_int_equal(tc_rtx_buffer_put(b, seq, pkt, sizeof pkt), 0);
}

static void expect(const tc_rtx_buffer *b, uint16_t seq)
{
    const uint8_t *d;
    size_t len;
    assert_int_equal(tc_rtx_buffer_get(b, seq, &d, &len), 0);
    assert_int_equal(len, 4);
    assert_int_equal(d[0], (uint8_t)(seq >> 8));
    assert_int_equal(d[1], (uint8_t)seq);
}

static void expect_missing(const tc_rtx_buffer *b, uint16_t seq)
{
    const uint8_t *d;
    size_t len;
    assert_int_equal(tc_rtx_buffer_get(b, seq, &d, &len), -ENOENT);
}

static void test_create_args(void **state)
{
    (void)state;
    assert_null(tc_rtx_buffer_create(0, 1500));
    assert_null(tc_rtx_buffer_create(500, 1500));
    assert_null(tc_rtx_buffer_create(65536, 1500));
    assert_null(tc_rtx_buffer_create(512, 0));
    assert_null(tc_rtx_buffer_create(512, 65536));
    tc_rtx_buffer *b =
        tc_rtx_buffer_create(TC_RTX_BUFFER_DEFAULT_CAPACITY, TC_RTX_BUFFER_DEFAULT_PACKET_LEN);
    assert_non_null(b);
    tc_rtx_buffer_destroy(b);
    tc_rtx_buffer_destroy(NULL);
}

static void test_put_get_limits(void **state)
{
    (void)state;
    tc_rtx_buffer *b = tc_rtx_buffer_create(16, 100);
    uint8_t big[101] = {0};
    expect_missing(b, 0);
    assert_int_equal(tc_rtx_buffer_put(b, 1, big, 101), -E2BIG);
    assert_int_equal(tc_rtx_buffer_put(b, 1, big, 0), -EINVAL);
    assert_int_equal(tc_rtx_buffer_put(b, 1, big, 100), 0);
    const uint8_t *d;
    size_t len;
    assert_int_equal(tc_rtx_buffer_get(b, 1, &d, &len), 0);
    assert_int_equal(len, 100);
    expect_missing(b, 2);
    expect_missing(b, 17); /* same slot, other seq */
    tc_rtx_buffer_clear(b);
    expect_missing(b, 1);
    tc_rtx_buffer_destroy(b);
}

static void test_overwrite_and_window(void **state)
{
    (void)state;
    tc_rtx_buffer *b = tc_rtx_buffer_create(16, 100);
    for (uint16_t s = 100; s < 140; s++)
        put_seq(b, s);
    for (uint16_t s = 124; s < 140; s++)
        expect(b, s);
    for (uint16_t s = 100; s < 124; s++)
        expect_missing(b, s);
    /* an old packet arriving late is refused: it could never be found */
    uint8_t x = 1;
    assert_int_equal(tc_rtx_buffer_put(b, 123, &x, 1), -ESTALE);
    /* a reordered one within the window is fine */
    assert_int_equal(tc_rtx_buffer_put(b, 125, &x, 1), 0);
    expect_missing(b, 140); /* ahead of the newest */
    tc_rtx_buffer_destroy(b);
}

static void test_wraparound(void **state)
{
    (void)state;
    tc_rtx_buffer *b = tc_rtx_buffer_create(8, 100);
    for (uint32_t s = 65530; s < 65540; s++)
        put_seq(b, (uint16_t)s);
    for (uint32_t s = 65532; s < 65540; s++)
        expect(b, (uint16_t)s);
    expect_missing(b, 65531);
    tc_rtx_buffer_destroy(b);
}

static void test_jump_clears_skipped(void **state)
{
    (void)state;
    tc_rtx_buffer *b = tc_rtx_buffer_create(8, 100);
    for (uint16_t s = 0; s < 8; s++)
        put_seq(b, s);
    put_seq(b, 11); /* skips 8, 9, 10: their slots held 0, 1, 2 */
    expect(b, 4);
    expect(b, 11);
    expect_missing(b, 8);
    expect_missing(b, 2);
    /* a jump past the whole window empties it */
    put_seq(b, 1000);
    expect_missing(b, 7);
    expect(b, 1000);
    /* a lap of 65536 later the same seq is a new packet, the old one gone */
    for (uint32_t s = 1004; s <= 1000 + 65536; s += 4)
        put_seq(b, (uint16_t)s);
    expect(b, 1000);
    expect_missing(b, 999);
    tc_rtx_buffer_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_args),          cmocka_unit_test(test_put_get_limits),
        cmocka_unit_test(test_overwrite_and_window), cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_jump_clears_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
