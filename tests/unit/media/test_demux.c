/* Unit tests for demux: RFC 7983 ranges at every boundary, RFC 5761 split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "telecounter/demux.h"

static tc_demux_kind first(unsigned b, unsigned second)
{
    uint8_t p[2] = {(uint8_t)b, (uint8_t)second};
    return tc_demux_classify(p, sizeof p);
}

static void test_every_first_byte(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        tc_demux_kind want = TC_DEMUX_DROP;
        if (b <= 3)
            want = TC_DEMUX_STUN;
        else if (b >= 20 && b <= 63)
            want = TC_DEMUX_DTLS;
        else if (b >= 128 && b <= 191)
            want = TC_DEMUX_RTP;
        assert_int_equal(first(b, 96), want);
    }
}

static void test_rtcp_by_second_byte(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 256; s++) {
        tc_demux_kind want = (s >= 192 && s <= 223) ? TC_DEMUX_RTCP : TC_DEMUX_RTP;
        assert_int_equal(first(0x80, s), want);
    }
    /* PT 96 with the marker set is 224: still RTP; PT 72 with marker is RR */
    assert_int_equal(first(0x80, 0x80 | 96), TC_DEMUX_RTP);
    assert_int_equal(first(0x81, 201), TC_DEMUX_RTCP);
}

static void test_short_inputs(void **state)
{
    (void)state;
    uint8_t b = 0x80;
    assert_int_equal(tc_demux_classify(&b, 0), TC_DEMUX_DROP);
    assert_int_equal(tc_demux_classify(NULL, 0), TC_DEMUX_DROP);
    assert_int_equal(tc_demux_classify(&b, 1), TC_DEMUX_DROP);
    b = 0;
    assert_int_equal(tc_demux_classify(&b, 1), TC_DEMUX_STUN);
    b = 22;
    assert_int_equal(tc_demux_classify(&b, 1), TC_DEMUX_DTLS);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(tc_demux_name(TC_DEMUX_STUN), "stun");
    assert_string_equal(tc_demux_name(TC_DEMUX_DTLS), "dtls");
    assert_string_equal(tc_demux_name(TC_DEMUX_RTP), "rtp");
    assert_string_equal(tc_demux_name(TC_DEMUX_RTCP), "rtcp");
    assert_string_equal(tc_demux_name(TC_DEMUX_DROP), "drop");
    assert_string_equal(tc_demux_name((tc_demux_kind)99), "drop");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_first_byte),
        cmocka_unit_test(test_rtcp_by_second_byte),
        cmocka_unit_test(test_short_inputs),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
