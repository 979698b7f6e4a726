/* Unit tests for rtx_buffer: put/get, overwrite, wraparound, window, limits,
 * the byte budget. */
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
    assert_null(tc_rtx_buffer_create(0, 1500, 1500));
    assert_null(tc_rtx_buffer_create(500, 1500, 1500));
    assert_null(tc_rtx_buffer_create(65536, 1500, 1500));
    assert_null(tc_rtx_buffer_create(512, 0, 1500));
    assert_null(tc_rtx_buffer_create(512, 65536, 65536));
    assert_null(tc_rtx_buffer_create(512, 1500, 1499));
    assert_null(tc_rtx_buffer_create(512, 1500, (64u << 20) + 1));
    tc_rtx_buffer *b = tc_rtx_buffer_create(128, 1500, 64 * 1024);
    assert_non_null(b);
    tc_rtx_buffer_destroy(b);
    tc_rtx_buffer_destroy(NULL);
}

static void test_put_get_limits(void **state)
{
    (void)state;
    tc_rtx_buffer *b = tc_rtx_buffer_create(16, 100, 1600);
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
    tc_rtx_buffer *b = tc_rtx_buffer_create(16, 100, 1600);
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
    tc_rtx_buffer *b = tc_rtx_buffer_create(8, 100, 800);
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
    tc_rtx_buffer *b = tc_rtx_buffer_create(8, 100, 800);
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

/* Packets of one stream's mixed sizes, put until the byte store has gone round
 * many times: every packet get finds is the one put under its seq, byte for
 * byte; the newest always are there; what was evicted is reported missing. */
static void fill(uint8_t *p, size_t len, uint16_t seq)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq * 7 + i);
}

static size_t len_of(uint16_t seq)
{
    return 1 + (seq * 131u) % 1200;
}

static void test_byte_budget(void **state)
{
    (void)state;
    enum { BYTES = 8000 };
    tc_rtx_buffer *b = tc_rtx_buffer_create(64, 1200, BYTES);
    uint8_t pkt[1200];
    for (uint32_t n = 0; n < 3000; n++) {
        uint16_t seq = (uint16_t)(65000 + n);
        fill(pkt, len_of(seq), seq);
        assert_int_equal(tc_rtx_buffer_put(b, seq, pkt, len_of(seq)), 0);
        size_t kept = 0, found = 0;
        for (uint16_t back = 0; back < 64; back++) {
            uint16_t s = (uint16_t)(seq - back);
            const uint8_t *d;
            size_t len;
            if (back > n)
                break;
            kept += len_of(s);
            if (tc_rtx_buffer_get(b, s, &d, &len) != 0)
                continue;
            found++;
            assert_int_equal(len, len_of(s));
            fill(pkt, len, s);
            assert_memory_equal(d, pkt, len);
            /* everything newer than a found packet fits the budget with it */
            assert_true(kept <= BYTES);
        }
        assert_true(found >= 1);
        /* at least half the budget's worth is kept (a skipped tail wastes at
         * most one packet's room) */
        size_t newest_bytes = 0, k = 0;
        while (k <= n && k < 64 && newest_bytes + len_of((uint16_t)(seq - k)) <= BYTES / 2)
            newest_bytes += len_of((uint16_t)(seq - k++));
        assert_true(found >= k);
    }
    tc_rtx_buffer_destroy(b);
}

/* Small packets: the slot count is the limit, not the bytes. */
static void test_slots_limit_small_packets(void **state)
{
    (void)state;
    tc_rtx_buffer *b = tc_rtx_buffer_create(16, 1500, 64 * 1024);
    for (uint16_t s = 0; s < 100; s++)
        put_seq(b, s);
    for (uint16_t s = 84; s < 100; s++)
        expect(b, s);
    expect_missing(b, 83);
    tc_rtx_buffer_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_args),
        cmocka_unit_test(test_put_get_limits),
        cmocka_unit_test(test_overwrite_and_window),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_jump_clears_skipped),
        cmocka_unit_test(test_byte_budget),
        cmocka_unit_test(test_slots_limit_small_packets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
