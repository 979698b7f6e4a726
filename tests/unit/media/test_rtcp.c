/* Unit tests for rtcp: walker checks, SR/RR/BYE fields, every feedback type
 * through writer and parser, limits, truncation, and the feedback rewrite. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "telecounter/rtcp.h"

static uint8_t buf[2048];

/* The first packet of buf[0..n), which must be exactly one packet. */
static tc_rtcp_packet only_packet(const uint8_t *p, int n)
{
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    assert_true(n > 0);
    tc_rtcp_iter_init(&it, p, (size_t)n);
    assert_int_equal(tc_rtcp_iter_next(&it, &pkt), 1);
    tc_rtcp_packet end;
    assert_int_equal(tc_rtcp_iter_next(&it, &end), 0);
    return pkt;
}

/* Filled in place, padding zeroed: the round trips compare whole structs, and
 * a struct returned or assigned by value need not carry its padding along. */
static void set_block(tc_rtcp_report_block *b, uint32_t ssrc, int32_t lost)
{
    memset(b, 0, sizeof *b);
    b->ssrc = ssrc;
    b->fraction_lost = 25;
    b->cumulative_lost = lost;
    b->ext_highest_seq = 0x10002;
    b->jitter = 33;
    b->lsr = 0xAABBCCDD;
    b->dlsr = 0x10000;
}

static void test_sr_roundtrip(void **state)
{
    (void)state;
    static tc_rtcp_sr sr, back;
    memset(&sr, 0, sizeof sr);
    sr.ssrc = 0x01020304;
    sr.ntp = 0xE1234567890ABCDEull;
    sr.rtp_ts = 90000;
    sr.packet_count = 1000;
    sr.octet_count = 123456;
    sr.report_count = 2;
    set_block(&sr.reports[0], 7, -5);
    set_block(&sr.reports[1], 8, 0x7FFFFF);
    int n = tc_rtcp_write_sr(buf, sizeof buf, &sr);
    assert_int_equal(n, 28 + 48);
    assert_int_equal(buf[0], 0x82);
    assert_int_equal(buf[1], 200);
    tc_rtcp_packet pkt = only_packet(buf, n);
    assert_int_equal(pkt.pt, TC_RTCP_SR);
    assert_int_equal(pkt.count, 2);
    assert_int_equal(tc_rtcp_parse_sr(&pkt, &back), 0);
    assert_memory_equal(&sr, &back, sizeof sr);
    assert_int_equal(back.reports[0].cumulative_lost, -5);
    assert_int_equal(tc_rtcp_write_sr(buf, (size_t)n - 1, &sr), -ENOSPC);
    static tc_rtcp_rr rr;
    assert_int_equal(tc_rtcp_parse_rr(&pkt, &rr), -EINVAL); /* wrong type */
}

static void test_rr_roundtrip_and_limits(void **state)
{
    (void)state;
    static tc_rtcp_rr rr, back;
    memset(&rr, 0, sizeof rr);
    rr.ssrc = 42;
    rr.report_count = TC_RTCP_MAX_REPORTS;
    for (unsigned i = 0; i < TC_RTCP_MAX_REPORTS; i++)
        set_block(&rr.reports[i], 100 + i, -(int32_t)i);
    int n = tc_rtcp_write_rr(buf, sizeof buf, &rr);
    assert_int_equal(n, 8 + 24 * 31);
    tc_rtcp_packet pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_rr(&pkt, &back), 0);
    assert_memory_equal(&rr, &back, sizeof rr);
    /* cumulative lost outside 24 bits is clamped */
    rr.report_count = 1;
    rr.reports[0].cumulative_lost = -10000000;
    n = tc_rtcp_write_rr(buf, sizeof buf, &rr);
    pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_rr(&pkt, &back), 0);
    assert_int_equal(back.reports[0].cumulative_lost, -0x800000);
    rr.report_count = 32;
    assert_int_equal(tc_rtcp_write_rr(buf, sizeof buf, &rr), -E2BIG);
    rr.report_count = 0;
    assert_int_equal(tc_rtcp_write_rr(buf, 7, &rr), -ENOSPC);
    /* a count larger than the body */
    n = tc_rtcp_write_rr(buf, sizeof buf, &rr);
    buf[0] = 0x81;
    pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_rr(&pkt, &back), -EINVAL);
}

static void test_bye(void **state)
{
    (void)state;
    const uint8_t p[] = {0x82, 203, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 3, 'b', 'y', 'e'};
    tc_rtcp_packet pkt = only_packet(p, sizeof p);
    static tc_rtcp_bye bye;
    assert_int_equal(tc_rtcp_parse_bye(&pkt, &bye), 0);
    assert_int_equal(bye.count, 2);
    assert_int_equal(bye.ssrcs[1], 2);
    assert_int_equal(bye.reason_len, 3);
    assert_string_equal(bye.reason, "bye");
    uint8_t q[sizeof p];
    memcpy(q, p, sizeof q);
    q[12] = 4; /* reason longer than the packet */
    pkt = only_packet(q, sizeof q);
    assert_int_equal(tc_rtcp_parse_bye(&pkt, &bye), -EINVAL);
    q[0] = 0x85; /* 5 SSRCs in 3 words */
    pkt = only_packet(q, sizeof q);
    assert_int_equal(tc_rtcp_parse_bye(&pkt, &bye), -EINVAL);
    const uint8_t none[] = {0x80, 203, 0, 0};
    pkt = only_packet(none, sizeof none);
    assert_int_equal(tc_rtcp_parse_bye(&pkt, &bye), 0);
    assert_int_equal(bye.count, 0);
}

static void test_pli(void **state)
{
    (void)state;
    static tc_rtcp_fb fb;
    int n = tc_rtcp_write_pli(buf, sizeof buf, 1, 2);
    assert_int_equal(n, 12);
    tc_rtcp_packet pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.kind, TC_RTCP_FB_PLI);
    assert_int_equal(fb.sender_ssrc, 1);
    assert_int_equal(fb.media_ssrc, 2);
    assert_int_equal(tc_rtcp_write_pli(buf, 11, 1, 2), -ENOSPC);
}

static void test_fir(void **state)
{
    (void)state;
    static tc_rtcp_fb fb;
    tc_rtcp_fir_entry e[TC_RTCP_MAX_FIR + 1];
    for (unsigned i = 0; i <= TC_RTCP_MAX_FIR; i++) {
        e[i].ssrc = 1000 + i;
        e[i].seq_nr = (uint8_t)(i * 3);
    }
    int n = tc_rtcp_write_fir(buf, sizeof buf, 9, e, 2);
    assert_int_equal(n, 28);
    tc_rtcp_packet pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.kind, TC_RTCP_FB_FIR);
    assert_int_equal(fb.media_ssrc, 0);
    assert_int_equal(fb.fir_count, 2);
    assert_int_equal(fb.fir[1].ssrc, 1001);
    assert_int_equal(fb.fir[1].seq_nr, 3);
    assert_int_equal(tc_rtcp_write_fir(buf, sizeof buf, 9, e, 0), -EINVAL);
    assert_int_equal(tc_rtcp_write_fir(buf, sizeof buf, 9, e, TC_RTCP_MAX_FIR + 1), -E2BIG);
    assert_int_equal(tc_rtcp_write_fir(buf, 27, 9, e, 2), -ENOSPC);
    /* 17 entries on the wire: over the parser's limit */
    n = tc_rtcp_write_fir(buf, sizeof buf, 9, e, TC_RTCP_MAX_FIR);
    memcpy(buf + n, buf + n - 8, 8);
    buf[3] = (uint8_t)(buf[3] + 2);
    pkt = only_packet(buf, n + 8);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), -E2BIG);
}

static void test_nack(void **state)
{
    (void)state;
    static tc_rtcp_fb fb;
    /* 65534, 65535, 0 (wrap), 16 after 65534 is 14; 100 starts a new pair */
    const uint16_t seqs[] = {65534, 65535, 0, 14, 100, 116, 117};
    int n = tc_rtcp_write_nack(buf, sizeof buf, 5, 6, seqs, 7);
    assert_int_equal(n, 12 + 3 * 4); /* 65534+{..14}, 100+{116}, 117 */
    tc_rtcp_packet pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.kind, TC_RTCP_FB_NACK);
    assert_int_equal(fb.media_ssrc, 6);
    assert_int_equal(fb.nack_count, 7);
    assert_memory_equal(fb.nack_seqs, seqs, sizeof seqs);
    assert_int_equal(tc_rtcp_write_nack(buf, sizeof buf, 5, 6, seqs, 0), -EINVAL);
    assert_int_equal(tc_rtcp_write_nack(buf, 23, 5, 6, seqs, 7), -ENOSPC);
    /* the parser's limit: 16 pairs with all 16 BLP bits = 272 seqs */
    uint16_t many[TC_RTCP_MAX_NACK_SEQS + 1];
    for (unsigned i = 0; i <= TC_RTCP_MAX_NACK_SEQS; i++)
        many[i] = (uint16_t)i;
    assert_int_equal(tc_rtcp_write_nack(buf, sizeof buf, 5, 6, many, 257), -E2BIG);
    n = tc_rtcp_write_nack(buf, sizeof buf, 5, 6, many, 256);
    assert_true(n > 0);
    pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.nack_count, 256);
    buf[n] = 0x01; /* one more pair: 257 seqs on the wire */
    buf[n + 1] = 0x01;
    buf[n + 2] = 0;
    buf[n + 3] = 0;
    buf[3] = (uint8_t)(buf[3] + 1);
    pkt = only_packet(buf, n + 4);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), -E2BIG);
}

static void test_remb(void **state)
{
    (void)state;
    static tc_rtcp_fb fb;
    const uint32_t ssrcs[TC_RTCP_MAX_REMB_SSRCS + 1] = {11, 22};
    int n = tc_rtcp_write_remb(buf, sizeof buf, 3, 1500000, ssrcs, 2);
    assert_int_equal(n, 28);
    tc_rtcp_packet pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.kind, TC_RTCP_FB_REMB);
    /* 1500000 needs 21 bits: 3 low bits are lost */
    assert_int_equal(fb.remb_bitrate_bps, 1500000 & ~7u);
    assert_int_equal(fb.remb_ssrc_count, 2);
    assert_int_equal(fb.remb_ssrcs[1], 22);
    n = tc_rtcp_write_remb(buf, sizeof buf, 3, 200000, ssrcs, 0);
    pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.remb_bitrate_bps, 200000);
    assert_int_equal(tc_rtcp_write_remb(buf, sizeof buf, 3, 1, ssrcs, 17), -E2BIG);
    assert_int_equal(tc_rtcp_write_remb(buf, 27, 3, 1, ssrcs, 2), -ENOSPC);
    /* the largest encodable exponent saturates instead of overflowing */
    n = tc_rtcp_write_remb(buf, sizeof buf, 3, 1, ssrcs, 0);
    buf[17] = 0xFF;
    buf[18] = 0xFF;
    buf[19] = 0xFF;
    pkt = only_packet(buf, n);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_true(fb.remb_bitrate_bps == UINT64_MAX);
    /* N says more SSRCs than the packet holds; another AFB identifier */
    buf[16] = 3;
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), -EINVAL);
    memcpy(buf + 12, "XXXX", 4);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), -ENOTSUP);
}

static void test_twcc_and_unknown(void **state)
{
    (void)state;
    static tc_rtcp_fb fb;
    uint8_t p[] = {0x8F, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 1};
    tc_rtcp_packet pkt = only_packet(p, sizeof p);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.kind, TC_RTCP_FB_TWCC);
    p[0] = 0x83; /* RTPFB FMT 3: TMMBR, not ours */
    pkt = only_packet(p, sizeof p);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), -ENOTSUP);
    p[0] = 0x81;
    p[3] = 1; /* NACK with no room for the media SSRC */
    pkt = only_packet(p, 8);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), -EINVAL);
    /* padding can leave a NACK FCI that is not whole pairs */
    const uint8_t odd[] = {0xA1, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 2};
    pkt = only_packet(odd, sizeof odd);
    assert_int_equal(pkt.body_len, 10);
    assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), -EINVAL);
}

static void test_walker(void **state)
{
    (void)state;
    uint8_t p[64];
    int a = tc_rtcp_write_pli(p, sizeof p, 1, 2);
    int b = tc_rtcp_write_remb(p + a, sizeof p - (size_t)a, 1, 1000, NULL, 0);
    size_t len = (size_t)(a + b);
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    tc_rtcp_iter_init(&it, p, len);
    assert_int_equal(tc_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(pkt.pt, TC_RTCP_PSFB);
    assert_int_equal(tc_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(pkt.len, (size_t)b);
    assert_int_equal(tc_rtcp_iter_next(&it, &pkt), 0);
    assert_int_equal(tc_rtcp_validate(p, len), 0);
    assert_int_equal(tc_rtcp_validate(p, 0), -EINVAL);
    /* every proper prefix is malformed: no crash, an error */
    for (size_t n = 1; n < len; n++) {
        if (n == (size_t)a)
            continue; /* the first packet alone is a valid compound */
        assert_int_equal(tc_rtcp_validate(p, n), -EINVAL);
    }
    p[0] = 0x41; /* version 1 */
    assert_int_equal(tc_rtcp_validate(p, len), -EINVAL);
}

static void test_padding(void **state)
{
    (void)state;
    /* RR with no blocks, padded by 4: length 2 words + header */
    uint8_t p[] = {0xA0, 201, 0, 2, 0, 0, 0, 9, 0, 0, 0, 4};
    tc_rtcp_packet pkt = only_packet(p, sizeof p);
    assert_true(pkt.padding);
    assert_int_equal(pkt.body_len, 4);
    p[11] = 0;
    assert_int_equal(tc_rtcp_validate(p, sizeof p), -EINVAL);
    p[11] = 9; /* more than the body */
    assert_int_equal(tc_rtcp_validate(p, sizeof p), -EINVAL);
    p[11] = 8;
    assert_int_equal(tc_rtcp_validate(p, sizeof p), 0);
}

static void test_rewrite_feedback(void **state)
{
    (void)state;
    uint8_t p[256];
    static tc_rtcp_rr rr;
    memset(&rr, 0, sizeof rr);
    rr.ssrc = 77;
    size_t len = 0;
    const uint32_t remb_ssrcs[] = {500, 600};
    const tc_rtcp_fir_entry fir = {500, 1};
    const uint16_t seq = 10;
    len += (size_t)tc_rtcp_write_rr(p + len, sizeof p - len, &rr);
    len += (size_t)tc_rtcp_write_pli(p + len, sizeof p - len, 77, 500);
    len += (size_t)tc_rtcp_write_fir(p + len, sizeof p - len, 77, &fir, 1);
    len += (size_t)tc_rtcp_write_nack(p + len, sizeof p - len, 77, 600, &seq, 1);
    len += (size_t)tc_rtcp_write_remb(p + len, sizeof p - len, 77, 1000, remb_ssrcs, 2);
    const tc_rtcp_ssrc_pair map[] = {{500, 5000}, {600, 6000}};
    assert_int_equal(tc_rtcp_rewrite_feedback(p, len, 1, map, 2), 4);
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    static tc_rtcp_fb fb;
    tc_rtcp_iter_init(&it, p, len);
    assert_int_equal(tc_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(tc_rtcp_parse_rr(&pkt, &rr), 0);
    assert_int_equal(rr.ssrc, 77); /* not feedback: untouched */
    const uint32_t want_media[] = {5000, 0, 6000, 0};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(tc_rtcp_iter_next(&it, &pkt), 1);
        assert_int_equal(tc_rtcp_parse_fb(&pkt, &fb), 0);
        assert_int_equal(fb.sender_ssrc, 1);
        assert_int_equal(fb.media_ssrc, want_media[i]);
    }
    assert_int_equal(fb.remb_ssrcs[0], 5000);
    assert_int_equal(fb.remb_ssrcs[1], 6000);
    /* malformed: nothing changes */
    uint8_t before[256];
    memcpy(before, p, len);
    assert_int_equal(tc_rtcp_rewrite_feedback(p, len - 1, 2, map, 2), -EINVAL);
    assert_memory_equal(p, before, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sr_roundtrip),
        cmocka_unit_test(test_rr_roundtrip_and_limits),
        cmocka_unit_test(test_bye),
        cmocka_unit_test(test_pli),
        cmocka_unit_test(test_fir),
        cmocka_unit_test(test_nack),
        cmocka_unit_test(test_remb),
        cmocka_unit_test(test_twcc_and_unknown),
        cmocka_unit_test(test_walker),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_rewrite_feedback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
