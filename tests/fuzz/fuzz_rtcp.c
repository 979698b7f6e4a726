/* fuzz_rtcp: walk a compound RTCP packet, parse every packet, write back
 * what parsed with the writers and check the round trip, and run the
 * feedback rewrite over a copy. */
/* The checks below are the oracle: keep them in release builds too. */
#undef NDEBUG
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telecounter/rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A writer's output must walk as exactly one packet. */
static tc_rtcp_packet reparse(const uint8_t *buf, int len)
{
    tc_rtcp_iter it;
    tc_rtcp_packet pkt, end;
    assert(len > 0);
    tc_rtcp_iter_init(&it, buf, (size_t)len);
    assert(tc_rtcp_iter_next(&it, &pkt) == 1);
    assert(tc_rtcp_iter_next(&it, &end) == 0);
    return pkt;
}

static void roundtrip_fb(const tc_rtcp_fb *fb)
{
    static uint8_t buf[4096];
    static tc_rtcp_fb back;
    int n = -1;
    if (fb->kind == TC_RTCP_FB_PLI)
        n = tc_rtcp_write_pli(buf, sizeof buf, fb->sender_ssrc, fb->media_ssrc);
    else if (fb->kind == TC_RTCP_FB_FIR && fb->fir_count > 0)
        n = tc_rtcp_write_fir(buf, sizeof buf, fb->sender_ssrc, fb->fir, fb->fir_count);
    else if (fb->kind == TC_RTCP_FB_NACK && fb->nack_count > 0)
        n = tc_rtcp_write_nack(buf, sizeof buf, fb->sender_ssrc, fb->media_ssrc, fb->nack_seqs,
                               fb->nack_count);
    else if (fb->kind == TC_RTCP_FB_REMB)
        n = tc_rtcp_write_remb(buf, sizeof buf, fb->sender_ssrc, fb->remb_bitrate_bps,
                               fb->remb_ssrcs, fb->remb_ssrc_count);
    if (n < 0)
        return;
    tc_rtcp_packet pkt = reparse(buf, n);
    assert(tc_rtcp_parse_fb(&pkt, &back) == 0);
    assert(back.kind == fb->kind && back.sender_ssrc == fb->sender_ssrc);
    if (fb->kind == TC_RTCP_FB_REMB)
        assert(back.remb_bitrate_bps <= fb->remb_bitrate_bps &&
               back.remb_ssrc_count == fb->remb_ssrc_count);
    if (fb->kind == TC_RTCP_FB_FIR)
        assert(memcmp(back.fir, fb->fir, fb->fir_count * sizeof fb->fir[0]) == 0);
}

static void one(const tc_rtcp_packet *pkt)
{
    static tc_rtcp_sr sr;
    static tc_rtcp_rr rr;
    static tc_rtcp_bye bye;
    static tc_rtcp_fb fb;
    static uint8_t buf[1024];
    if (tc_rtcp_parse_sr(pkt, &sr) == 0) {
        int n = tc_rtcp_write_sr(buf, sizeof buf, &sr);
        tc_rtcp_packet back = reparse(buf, n);
        static tc_rtcp_sr sr2;
        assert(tc_rtcp_parse_sr(&back, &sr2) == 0 && memcmp(&sr, &sr2, sizeof sr) == 0);
    }
    if (tc_rtcp_parse_rr(pkt, &rr) == 0) {
        int n = tc_rtcp_write_rr(buf, sizeof buf, &rr);
        tc_rtcp_packet back = reparse(buf, n);
        static tc_rtcp_rr rr2;
        assert(tc_rtcp_parse_rr(&back, &rr2) == 0 && memcmp(&rr, &rr2, sizeof rr) == 0);
    }
    (void)tc_rtcp_parse_bye(pkt, &bye);
    if (tc_rtcp_parse_fb(pkt, &fb) == 0)
        roundtrip_fb(&fb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    tc_rtcp_iter_init(&it, data, size);
    while (tc_rtcp_iter_next(&it, &pkt) > 0) {
        assert(pkt.data + pkt.len <= data + size);
        assert(pkt.body_len + 4 <= pkt.len);
        one(&pkt);
    }
    uint8_t *copy = malloc(size ? size : 1);
    assert(copy);
    memcpy(copy, data, size);
    tc_rtcp_ssrc_pair map[2] = {{1, 2}, {0, 7}};
    int rc = tc_rtcp_rewrite_feedback(copy, size, 99, map, 2);
    if (rc < 0)
        assert(size == 0 || memcmp(copy, data, size) == 0); /* all or nothing */
    else
        assert(tc_rtcp_validate(copy, size) == 0);
    free(copy);
    return 0;
}
