/* Unit tests for rtp: every header field, both RFC 8285 forms, limits,
 * truncation at every length, and the in-place rewrites. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "telecounter/rtp.h"

/* V=2 P=0 X=1 CC=2, M=1 PT=100, seq 0xABCD, ts 0x01020304, ssrc 0xCAFEBABE,
 * CSRCs 7 and 8, a one-byte extension block of 2 words: id 1 (1 byte),
 * padding byte, id 3 (3 bytes), padding; payload "hi!" */
static const uint8_t one_byte_pkt[] = {
    0x92, 0xE4, 0xAB, 0xCD, 0x01, 0x02, 0x03, 0x04, 0xCA, 0xFE, 0xBA, 0xBE,
    0,    0,    0,    7,    0,    0,    0,    8,    0xBE, 0xDE, 0x00, 0x02,
    0x10, 0x55, 0x00, 0x32, 0xA1, 0xA2, 0xA3, 0x00, 'h',  'i',  '!',
};

/* X=1, P=1: two-byte extension (profile 0x1000): id 20 len 2, id 0 padding,
 * id 5 len 0, padding x2; payload "abc" and 3 bytes of padding */
static const uint8_t two_byte_pkt[] = {
    0xB0, 0x60, 0x00, 0x01, 0,    0, 0, 9, 0, 0,   0,   1,   0x10, 0x00, 0x00,
    0x02, 20,   2,    0xEE, 0xFF, 0, 5, 0, 0, 'a', 'b', 'c', 0,    0,    3,
};

static void test_fields_one_byte(void **state)
{
    (void)state;
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(one_byte_pkt, sizeof one_byte_pkt, &h), 0);
    assert_int_equal(h.version, 2);
    assert_false(h.padding);
    assert_true(h.extension);
    assert_int_equal(h.csrc_count, 2);
    assert_true(h.marker);
    assert_int_equal(h.pt, 100);
    assert_int_equal(h.seq, 0xABCD);
    assert_int_equal(h.ts, 0x01020304);
    assert_int_equal(h.ssrc, 0xCAFEBABE);
    assert_int_equal(h.csrc[0], 7);
    assert_int_equal(h.csrc[1], 8);
    assert_int_equal(h.ext_profile, 0xBEDE);
    assert_int_equal(h.ext_data_offset, 24);
    assert_int_equal(h.ext_data_len, 8);
    assert_int_equal(h.ext_count, 2);
    assert_int_equal(h.ext[0].id, 1);
    assert_int_equal(h.ext[0].offset, 25);
    assert_int_equal(h.ext[0].len, 1);
    assert_int_equal(h.ext[1].id, 3);
    assert_int_equal(h.ext[1].offset, 28);
    assert_int_equal(h.ext[1].len, 3);
    assert_int_equal(h.header_len, 32);
    assert_int_equal(h.payload_len, 3);
    assert_int_equal(h.padding_len, 0);
    assert_ptr_equal(tc_rtp_ext_find(&h, 3), &h.ext[1]);
    assert_null(tc_rtp_ext_find(&h, 2));
}

static void test_fields_two_byte_padding(void **state)
{
    (void)state;
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(two_byte_pkt, sizeof two_byte_pkt, &h), 0);
    assert_true(h.padding);
    assert_false(h.marker);
    assert_int_equal(h.pt, 96);
    assert_int_equal(h.ext_profile, 0x1000);
    assert_int_equal(h.ext_count, 2);
    assert_int_equal(h.ext[0].id, 20);
    assert_int_equal(h.ext[0].offset, 18);
    assert_int_equal(h.ext[0].len, 2);
    assert_int_equal(h.ext[1].id, 5);
    assert_int_equal(h.ext[1].len, 0);
    assert_int_equal(h.header_len, 24);
    assert_int_equal(h.payload_len, 3);
    assert_int_equal(h.padding_len, 3);
}

static void test_plain_and_other_profile(void **state)
{
    (void)state;
    uint8_t p[20] = {0x80, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, 12, &h), 0);
    assert_int_equal(h.payload_len, 0);
    assert_false(h.extension);
    /* a non-RFC 8285 profile is skipped whole */
    uint8_t q[] = {0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x12, 0x34, 0, 1, 0xF1, 2, 3, 4, 9};
    assert_int_equal(tc_rtp_parse(q, sizeof q, &h), 0);
    assert_int_equal(h.ext_count, 0);
    assert_int_equal(h.header_len, 20);
    assert_int_equal(h.payload_len, 1);
}

static void test_id15_stops(void **state)
{
    (void)state;
    uint8_t p[] = {0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 1, 0x10, 1, 0xF7, 0x20};
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    assert_int_equal(h.ext_count, 1);
}

static void test_id0_is_padding(void **state)
{
    (void)state;
    /* 0x05 has id 0: one padding byte, its length nibble ignored */
    uint8_t p[] = {0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 1, 0x05, 0x10, 7, 0};
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    assert_int_equal(h.ext_count, 1);
    assert_int_equal(h.ext[0].id, 1);
    assert_int_equal(h.ext[0].offset, 18);
}

static void test_malformed(void **state)
{
    (void)state;
    tc_rtp_header h;
    uint8_t p[sizeof one_byte_pkt];
    memcpy(p, one_byte_pkt, sizeof p);
    p[0] = (uint8_t)((p[0] & 0x3F) | 0x40); /* version 1 */
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), -EINVAL);
    memcpy(p, one_byte_pkt, sizeof p);
    p[23] = 3; /* extension length past the end */
    assert_int_equal(tc_rtp_parse(p, 36, &h), -EINVAL);
    memcpy(p, one_byte_pkt, sizeof p);
    p[27] = 0x3F; /* id 3, 16 bytes: past the extension block */
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), -EINVAL);
    memcpy(p, one_byte_pkt, sizeof p);
    p[0] |= 0x0F; /* 15 CSRCs: more than the packet */
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), -EINVAL);

    uint8_t q[sizeof two_byte_pkt];
    memcpy(q, two_byte_pkt, sizeof q);
    q[sizeof q - 1] = 0; /* padding count 0 */
    assert_int_equal(tc_rtp_parse(q, sizeof q, &h), -EINVAL);
    q[sizeof q - 1] = 7; /* more padding than payload */
    assert_int_equal(tc_rtp_parse(q, sizeof q, &h), -EINVAL);
    memcpy(q, two_byte_pkt, sizeof q);
    q[17] = 7; /* two-byte element longer than the block */
    assert_int_equal(tc_rtp_parse(q, sizeof q, &h), -EINVAL);
    q[17] = 2;
    q[20] = 0;
    q[21] = 0;
    q[22] = 0;
    q[23] = 9; /* id 9 with no length byte left */
    assert_int_equal(tc_rtp_parse(q, sizeof q, &h), -EINVAL);
}

static void test_too_long(void **state)
{
    (void)state;
    static uint8_t big[65536];
    tc_rtp_header h;
    big[0] = 0x80;
    assert_int_equal(tc_rtp_parse(big, sizeof big, &h), -EINVAL);
    assert_int_equal(tc_rtp_parse(big, sizeof big - 1, &h), 0);
}

static void test_ext_limit(void **state)
{
    (void)state;
    /* 17 one-byte elements of 1 byte each: 34 bytes, padded to 9 words */
    uint8_t p[12 + 4 + 36] = {0x90, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 9};
    for (unsigned i = 0; i < 17; i++) {
        p[16 + 2 * i] = (uint8_t)(((i % 14) + 1) << 4);
        p[17 + 2 * i] = (uint8_t)i;
    }
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), -E2BIG);
    p[16 + 2 * 16] = 0; /* the 17th becomes padding */
    p[17 + 2 * 16] = 0;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    assert_int_equal(h.ext_count, 16);
}

static void test_every_prefix(void **state)
{
    (void)state;
    tc_rtp_header h;
    for (size_t n = 0; n < sizeof one_byte_pkt; n++) {
        int rc = tc_rtp_parse(one_byte_pkt, n, &h);
        if (n < 32) {
            assert_int_equal(rc, -EINVAL);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(h.payload_len, n - 32);
        }
    }
    for (size_t n = 0; n < sizeof two_byte_pkt; n++) {
        /* with P set, a prefix ends in a payload or padding byte whose value
         * is taken as the count: never out of bounds, mostly an error */
        int rc = tc_rtp_parse(two_byte_pkt, n, &h);
        if (n < 24)
            assert_int_equal(rc, -EINVAL);
        else if (rc == 0)
            assert_true(h.header_len + h.payload_len + h.padding_len == n);
    }
}

static void test_setters(void **state)
{
    (void)state;
    uint8_t p[sizeof one_byte_pkt];
    memcpy(p, one_byte_pkt, sizeof p);
    assert_int_equal(tc_rtp_set_ssrc(p, sizeof p, 0x11223344), 0);
    assert_int_equal(tc_rtp_set_pt(p, sizeof p, 111), 0);
    assert_int_equal(tc_rtp_set_seq(p, sizeof p, 65535), 0);
    assert_int_equal(tc_rtp_set_ts(p, sizeof p, 0xFFFFFFFF), 0);
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    assert_int_equal(h.ssrc, 0x11223344);
    assert_int_equal(h.pt, 111);
    assert_true(h.marker); /* kept */
    assert_int_equal(h.seq, 65535);
    assert_int_equal(h.ts, 0xFFFFFFFF);
    assert_int_equal(h.csrc[1], 8);
    assert_int_equal(tc_rtp_set_ssrc(p, 11, 1), -EINVAL);
    assert_int_equal(tc_rtp_set_pt(p, 11, 1), -EINVAL);
    assert_int_equal(tc_rtp_set_seq(p, 11, 1), -EINVAL);
    assert_int_equal(tc_rtp_set_ts(p, 11, 1), -EINVAL);
    p[1] = 0x00;
    assert_int_equal(tc_rtp_set_pt(p, sizeof p, 96), 0);
    assert_int_equal(p[1], 96);
}

static void test_rewrite_one_byte(void **state)
{
    (void)state;
    uint8_t p[sizeof one_byte_pkt];
    memcpy(p, one_byte_pkt, sizeof p);
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    uint8_t map[256] = {0};
    map[3] = 14; /* id 1 unmapped: blanked into padding, not forwarded as id 1 */
    assert_int_equal(tc_rtp_rewrite_ext_ids(p, sizeof p, &h, map), 1);
    tc_rtp_header after;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &after), 0);
    assert_int_equal(after.ext_count, 1);
    assert_int_equal(after.ext[0].id, 14);
    assert_int_equal(after.ext[0].len, 3);
    assert_memory_equal(p + 28, one_byte_pkt + 28, 3);
    assert_int_equal(after.payload_len, h.payload_len);
    for (size_t i = h.ext[0].offset - 1; i < (size_t)h.ext[0].offset + h.ext[0].len; i++)
        assert_int_equal(p[i], 0);
    /* 15 does not fit the one-byte form: nothing changes */
    map[1] = 9;
    map[14] = 15;
    uint8_t before[sizeof p];
    memcpy(before, p, sizeof p);
    assert_int_equal(tc_rtp_rewrite_ext_ids(p, sizeof p, &after, map), -ERANGE);
    assert_memory_equal(p, before, sizeof p);
    /* a header that does not belong to this buffer */
    assert_int_equal(tc_rtp_rewrite_ext_ids(p, 20, &after, map), -EINVAL);
    after.ext[0].offset = (uint16_t)after.ext_data_offset; /* no room for its id byte */
    assert_int_equal(tc_rtp_rewrite_ext_ids(p, sizeof p, &after, map), -EINVAL);
}

static void test_rewrite_two_byte(void **state)
{
    (void)state;
    uint8_t p[sizeof two_byte_pkt];
    memcpy(p, two_byte_pkt, sizeof p);
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    uint8_t map[256] = {0};
    map[20] = 200;
    map[5] = 6;
    assert_int_equal(tc_rtp_rewrite_ext_ids(p, sizeof p, &h, map), 2);
    tc_rtp_header after;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &after), 0);
    assert_int_equal(after.ext[0].id, 200);
    assert_int_equal(after.ext[0].len, 2);
    assert_int_equal(after.ext[1].id, 6);
    assert_int_equal(after.payload_len, 3);
}

/* RFC 4588: the OSN is the first two payload bytes, after CSRCs and the
 * extension; padding-only RTX has none; a 1-byte payload is not RTX. */
static void test_rtx_osn(void **state)
{
    (void)state;
    uint8_t p[sizeof one_byte_pkt];
    memcpy(p, one_byte_pkt, sizeof p);
    tc_rtp_header h;
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    uint16_t osn = 0;
    assert_int_equal(tc_rtp_rtx_osn(p, sizeof p, &h, &osn), 0);
    assert_int_equal(osn, 'h' << 8 | 'i');
    assert_int_equal(tc_rtp_set_rtx_osn(p, sizeof p, &h, 0xBEEF), 0);
    assert_int_equal(p[h.header_len], 0xBE);
    assert_int_equal(p[h.header_len + 1], 0xEF);
    assert_int_equal(p[h.header_len + 2], '!');
    assert_memory_equal(p, one_byte_pkt, h.header_len); /* the header is untouched */
    assert_int_equal(tc_rtp_rtx_osn(p, sizeof p, &h, &osn), 0);
    assert_int_equal(osn, 0xBEEF);

    /* padding counts no payload: "abc" then 3 bytes of padding */
    uint8_t q[sizeof two_byte_pkt];
    memcpy(q, two_byte_pkt, sizeof q);
    assert_int_equal(tc_rtp_parse(q, sizeof q, &h), 0);
    assert_int_equal(tc_rtp_rtx_osn(q, sizeof q, &h, &osn), 0);
    assert_int_equal(osn, 'a' << 8 | 'b');

    /* padding only: a probe, no OSN */
    const uint8_t probe[] = {0xA0, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4};
    assert_int_equal(tc_rtp_parse(probe, sizeof probe, &h), 0);
    assert_int_equal(tc_rtp_rtx_osn(probe, sizeof probe, &h, &osn), -ENODATA);
    uint8_t r[sizeof probe];
    memcpy(r, probe, sizeof r);
    assert_int_equal(tc_rtp_set_rtx_osn(r, sizeof r, &h, 1), -ENODATA);
    assert_memory_equal(r, probe, sizeof r);

    /* one byte of payload: too short to be RTX */
    const uint8_t one[] = {0x80, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7};
    assert_int_equal(tc_rtp_parse(one, sizeof one, &h), 0);
    assert_int_equal(tc_rtp_rtx_osn(one, sizeof one, &h, &osn), -EINVAL);

    /* a header that does not fit the packet it is used with */
    assert_int_equal(tc_rtp_parse(p, sizeof p, &h), 0);
    assert_int_equal(tc_rtp_rtx_osn(p, h.header_len + 1, &h, &osn), -EINVAL);
    assert_int_equal(tc_rtp_set_rtx_osn(p, 12, &h, 1), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_one_byte),
        cmocka_unit_test(test_fields_two_byte_padding),
        cmocka_unit_test(test_plain_and_other_profile),
        cmocka_unit_test(test_id15_stops),
        cmocka_unit_test(test_id0_is_padding),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_ext_limit),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_rewrite_one_byte),
        cmocka_unit_test(test_rewrite_two_byte),
        cmocka_unit_test(test_rtx_osn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
