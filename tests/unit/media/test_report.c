/*
 * The relay's receiver-report arithmetic (RFC 3550 A.1, A.3, A.8): extended
 * sequence numbers across the 16-bit wrap, cumulative and fractional loss per
 * interval, interarrival jitter, and the delay since the peer's last SR.
 */
#include "media/media_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static tc_relay_stream audio(void)
{
    tc_relay_stream s;
    memset(&s, 0, sizeof s);
    s.accepted = true;
    s.kind = TC_SDP_AUDIO;
    s.clock_rate = 48000;
    s.in_ssrc = 0x11223344;
    return s;
}

static void loss_across_the_wrap(void **state)
{
    (void)state;
    tc_relay_stream s = audio();
    int64_t t = 1000000;
    uint16_t seq = 65530;
    for (int i = 0; i < 16; i++, seq++) {
        if (seq == 3)
            continue; /* lost */
        tc_report_rx(&s, seq, (uint32_t)i * 960, t + i * 20000);
    }
    tc_rtcp_report_block b;
    tc_report_block(&s, t + 400000, &b);
    assert_int_equal(b.ssrc, 0x11223344);
    assert_int_equal(b.ext_highest_seq, 65536 + 9);
    assert_int_equal(b.cumulative_lost, 1);
    assert_int_equal(b.fraction_lost, 256 / 16);
    assert_int_equal(b.jitter, 0); /* sent and received at exactly the same pace */

    /* The next interval has no loss: the fraction is per interval, the total is not. */
    for (int i = 16; i < 26; i++, seq++)
        tc_report_rx(&s, seq, (uint32_t)i * 960, t + i * 20000);
    tc_report_block(&s, t + 600000, &b);
    assert_int_equal(b.fraction_lost, 0);
    assert_int_equal(b.cumulative_lost, 1);
}

static void reordering_does_not_count_as_a_wrap(void **state)
{
    (void)state;
    tc_relay_stream s = audio();
    tc_report_rx(&s, 100, 0, 0);
    tc_report_rx(&s, 102, 1920, 40000);
    tc_report_rx(&s, 101, 960, 41000); /* late, not a new cycle */
    tc_rtcp_report_block b;
    tc_report_block(&s, 50000, &b);
    assert_int_equal(b.ext_highest_seq, 102);
    assert_int_equal(b.cumulative_lost, 0);
}

static void jitter_grows_with_uneven_arrival(void **state)
{
    (void)state;
    tc_relay_stream s = audio();
    for (int i = 0; i < 50; i++) /* every other packet 10 ms late */
        tc_report_rx(&s, (uint16_t)i, (uint32_t)i * 960, i * 20000 + (i % 2) * 10000);
    tc_rtcp_report_block b;
    tc_report_block(&s, 2000000, &b);
    /* |D| is 480 timestamp units each time; J converges towards it. */
    assert_true(b.jitter > 300 && b.jitter <= 480);
}

static void delay_since_last_sender_report(void **state)
{
    (void)state;
    tc_relay_stream s = audio();
    tc_report_rx(&s, 1, 0, 0);
    s.rx_lsr = 0xabcd1234;
    s.rx_lsr_at_us = 5000000;
    tc_rtcp_report_block b;
    tc_report_block(&s, 5500000, &b); /* half a second later */
    assert_int_equal(b.lsr, 0xabcd1234);
    assert_int_equal(b.dlsr, 65536 / 2);
}

static void sender_counts(void **state)
{
    (void)state;
    tc_relay_stream s = audio();
    tc_report_tx(&s, 100, 960, 20000);
    tc_report_tx(&s, 120, 1920, 40000);
    assert_int_equal(s.tx_packets, 2);
    assert_int_equal(s.tx_octets, 220);
    assert_int_equal(s.tx_last_ts, 1920);
    assert_int_equal(s.tx_last_us, 40000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_across_the_wrap),
        cmocka_unit_test(reordering_does_not_count_as_a_wrap),
        cmocka_unit_test(jitter_grows_with_uneven_arrival),
        cmocka_unit_test(delay_since_last_sender_report),
        cmocka_unit_test(sender_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
