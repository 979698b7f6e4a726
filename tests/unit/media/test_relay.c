/*
 * The relay between two legs (relay.c), with the legs faked: what each leg
 * would send its peer is recorded instead of protected and sent. The case
 * that matters most is a change of source on a leg's outgoing stream (a
 * customer reloads: a new sender, a new SSRC, its own sequence numbers): the
 * receiver must keep seeing one stream, and everything that names a packet
 * of it (RTX's original sequence number, NACKs) or its sender (PLI, NACK)
 * must be translated with it.
 */
#include "media/media_internal.h"

#include "telecounter/rtcp.h"
#include "telecounter/rtp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* ---- a fake leg: the accessors relay.c and report.c use ------------------ */

#define MAX_SENT 64

typedef struct {
    bool rtcp;
    size_t len;
    uint8_t data[TC_PACKET_CAP];
} sent_packet;

struct tc_leg {
    tc_relay_stream streams[2]; /* 0 audio, 1 video */
    tc_leg_stats stats;
    uint8_t ext_map[256];
    sent_packet sent[MAX_SENT];
    int n_sent;
};

tc_relay_stream *tc_leg_streams(tc_leg *leg, int *count)
{
    *count = 2;
    return leg->streams;
}

tc_leg_stats *tc_leg_stats_of(tc_leg *leg)
{
    return &leg->stats;
}

uint8_t *tc_leg_ext_map_to(tc_leg *from, tc_leg *to)
{
    (void)to;
    return from->ext_map;
}

uint32_t tc_leg_max_bitrate_bps(const tc_leg *leg)
{
    (void)leg;
    return 2000000;
}

static void record(tc_leg *leg, bool rtcp, const uint8_t *buf, size_t len)
{
    assert_true(leg->n_sent < MAX_SENT);
    sent_packet *p = &leg->sent[leg->n_sent++];
    p->rtcp = rtcp;
    p->len = len;
    memcpy(p->data, buf, len);
}

void tc_leg_send_rtp(tc_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
    (void)cap;
    record(leg, false, buf, len);
}

void tc_leg_send_rtcp(tc_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
    (void)cap;
    record(leg, true, buf, len);
}

/* ---- the call ------------------------------------------------------------ */

/* The customer's browser offers VP8 as 96 with RTX 97; the agent's as 100
 * with RTX 101. */
enum { C_VIDEO_PT = 96, C_RTX_PT = 97, A_VIDEO_PT = 100, A_RTX_PT = 101 };
#define A_OUT_VIDEO 0xA0A0A0A0u /* what the relay sends the agent */
#define A_OUT_RTX 0xA1A1A1A1u
#define C_OUT_VIDEO 0xC0C0C0C0u /* what the relay sends a customer */
#define C_OUT_RTX 0xC1C1C1C1u
#define AGENT_RECV 0x00000001u /* the agent browser's own SSRC in its feedback */

static void stream(tc_relay_stream *s, tc_sdp_kind kind, uint8_t pt, uint8_t rtx_pt, uint32_t in,
                   uint32_t in_rtx, uint32_t out, uint32_t out_rtx)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->accepted = true;
    s->pt = pt;
    s->rtx_pt = rtx_pt;
    s->clock_rate = kind == TC_SDP_VIDEO ? 90000 : 48000;
    s->in_ssrc = in;
    s->in_rtx_ssrc = in_rtx;
    s->out_ssrc = out;
    s->out_rtx_ssrc = out_rtx;
}

/* A customer leg whose browser sends video as SSRC media, RTX as rtx (0: the
 * offer named none, to be learned from the packets). */
static void customer(tc_leg *c, uint32_t media, uint32_t rtx)
{
    memset(c, 0, sizeof *c);
    stream(&c->streams[0], TC_SDP_AUDIO, 111, 0, 0, 0, 0xC2C2C2C2u, 0);
    stream(&c->streams[1], TC_SDP_VIDEO, C_VIDEO_PT, C_RTX_PT, media, rtx, C_OUT_VIDEO, C_OUT_RTX);
}

static void agent(tc_leg *a, bool keep_sent)
{
    memset(a, 0, sizeof *a);
    stream(&a->streams[0], TC_SDP_AUDIO, 111, 0, 0x0A0A0A0Au, 0, 0xA2A2A2A2u, 0);
    stream(&a->streams[1], TC_SDP_VIDEO, A_VIDEO_PT, A_RTX_PT, 0x0B0B0B0Bu, 0, A_OUT_VIDEO,
           A_OUT_RTX);
    a->streams[1].sent = keep_sent ? tc_rtx_buffer_create(64, TC_MAX_PACKET, 64 * 1024) : NULL;
}

static size_t rtp(uint8_t *buf, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    memset(buf, 0, TC_PACKET_CAP);
    buf[0] = 0x80;
    buf[1] = pt;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        buf[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    memcpy(buf + 12, "frame", 5);
    return 17;
}

/* An RTX packet repeating the sender's packet osn. */
static size_t rtx(uint8_t *buf, uint16_t seq, uint32_t ssrc, uint16_t osn)
{
    rtp(buf, C_RTX_PT, seq, 1234, ssrc);
    buf[12] = (uint8_t)(osn >> 8);
    buf[13] = (uint8_t)osn;
    memcpy(buf + 14, "frame", 5);
    return 19;
}

static void send_media(tc_leg *from, tc_leg *to, uint32_t ssrc, uint16_t first, int count)
{
    uint8_t buf[TC_PACKET_CAP];
    for (int k = 0; k < count; k++) {
        size_t len = rtp(buf, C_VIDEO_PT, (uint16_t)(first + k), 3000u * (uint32_t)k, ssrc);
        assert_int_equal(tc_relay_on_rtp(from, to, buf, len), 0);
    }
}

static const sent_packet *last_sent(const tc_leg *leg)
{
    assert_true(leg->n_sent > 0);
    return &leg->sent[leg->n_sent - 1];
}

static void parse_sent(const sent_packet *p, tc_rtp_header *h)
{
    assert_false(p->rtcp);
    assert_int_equal(tc_rtp_parse(p->data, p->len, h), 0);
}

/* The forwarded RTX packet's fields: its own seq, SSRC, PT and the OSN. */
static void expect_rtx(const sent_packet *p, uint16_t seq, uint16_t osn)
{
    tc_rtp_header h;
    parse_sent(p, &h);
    assert_int_equal(h.pt, A_RTX_PT);
    assert_int_equal(h.ssrc, A_OUT_RTX);
    assert_int_equal(h.seq, seq);
    uint16_t got;
    assert_int_equal(tc_rtp_rtx_osn(p->data, p->len, &h, &got), 0);
    assert_int_equal(got, osn);
    assert_memory_equal(p->data + h.header_len + 2, "frame", 5);
}

/* Customer 1 (SSRC 0x1111) sends 1000..1009; it reloads, and customer 2
 * (SSRC 0x2222, its own numbers from 50000) sends 50000..50004. The agent
 * receives 1000..1014: customer 2's packets are shifted by 1010 - 50000. */
typedef struct {
    tc_leg c1, c2, a;
} call;

static void reload(call *k, bool keep_sent)
{
    customer(&k->c1, 0x1111, 0x1112);
    customer(&k->c2, 0x2222, 0x2223);
    agent(&k->a, keep_sent);
    send_media(&k->c1, &k->a, 0x1111, 1000, 10);
    send_media(&k->c2, &k->a, 0x2222, 50000, 5);
    tc_rtp_header h;
    parse_sent(last_sent(&k->a), &h);
    assert_int_equal(h.seq, 1014);
    assert_int_equal(h.ssrc, A_OUT_VIDEO);
}

static void cleanup_call(call *k)
{
    tc_rtx_buffer_destroy(k->a.streams[1].sent);
}

/* The reported freeze: RTX from the new sender named its own numbers, which
 * the agent's browser took for packets of the stream it had (or far ahead). */
static void rtx_osn_follows_the_shift(void **state)
{
    (void)state;
    call k;
    reload(&k, true);
    uint8_t buf[TC_PACKET_CAP];
    size_t len = rtx(buf, 7000, 0x2223, 50002);
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, len), 0);
    expect_rtx(last_sent(&k.a), 7000, 1012);
    /* and the same before any change: no shift at all */
    call first;
    customer(&first.c1, 0x1111, 0x1112);
    agent(&first.a, false);
    send_media(&first.c1, &first.a, 0x1111, 1000, 3);
    len = rtx(buf, 300, 0x1112, 1001);
    assert_int_equal(tc_relay_on_rtp(&first.c1, &first.a, buf, len), 0);
    expect_rtx(last_sent(&first.a), 300, 1001);
    cleanup_call(&k);
}

/* The receiver rebuilds the original from an RTX packet with the RTX's
 * timestamp: it gets the same shift as the original's. */
static void rtx_timestamp_follows_the_shift(void **state)
{
    (void)state;
    call k;
    reload(&k, false);
    uint32_t want = 0;
    bool found = false;
    for (int i = 0; i < k.a.n_sent; i++) {
        tc_rtp_header h;
        if (!k.a.sent[i].rtcp && tc_rtp_parse(k.a.sent[i].data, k.a.sent[i].len, &h) == 0 &&
            h.seq == 1012) {
            want = h.ts;
            found = true;
        }
    }
    assert_true(found);
    uint8_t buf[TC_PACKET_CAP];
    size_t len = rtx(buf, 7000, 0x2223, 50002);
    tc_rtp_set_ts(buf, len, 2 * 3000); /* the original's, as the sender sent it */
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, len), 0);
    tc_rtp_header h;
    parse_sent(last_sent(&k.a), &h);
    assert_int_equal(h.pt, A_RTX_PT);
    assert_int_equal(h.ts, want);
}

/* The RTX stream's own numbers stay continuous across the change too. */
static void rtx_sequence_stays_continuous(void **state)
{
    (void)state;
    call k;
    customer(&k.c1, 0x1111, 0x1112);
    customer(&k.c2, 0x2222, 0x2223);
    agent(&k.a, false);
    uint8_t buf[TC_PACKET_CAP];
    send_media(&k.c1, &k.a, 0x1111, 1000, 10);
    for (uint16_t s = 300; s < 303; s++) {
        size_t len = rtx(buf, s, 0x1112, 1005);
        assert_int_equal(tc_relay_on_rtp(&k.c1, &k.a, buf, len), 0);
        expect_rtx(last_sent(&k.a), s, 1005);
    }
    send_media(&k.c2, &k.a, 0x2222, 50000, 5);
    for (uint16_t s = 0; s < 3; s++) {
        size_t len = rtx(buf, (uint16_t)(9000 + s), 0x2223, 50001);
        assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, len), 0);
        expect_rtx(last_sent(&k.a), (uint16_t)(303 + s), 1011);
    }
    /* padding only (a sender probing): no OSN to shift, its seq still is */
    rtp(buf, C_RTX_PT, 9003, 1234, 0x2223);
    buf[0] |= 0x20; /* P: 12 bytes of header, then 4 of padding */
    memset(buf + 12, 0, 3);
    buf[15] = 4;
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, 16), 0);
    tc_rtp_header h;
    parse_sent(last_sent(&k.a), &h);
    assert_int_equal(h.seq, 306);
    assert_int_equal(h.payload_len, 0);
    assert_int_equal(h.ssrc, A_OUT_RTX);
}

/* An RTX packet that names no packet we forwarded from its sender is not
 * passed on: from before the new sender's first packet, before any media of
 * it at all, or a 1-byte payload (not RTX). */
static void rtx_of_nothing_forwarded_is_dropped(void **state)
{
    (void)state;
    call k;
    customer(&k.c1, 0x1111, 0x1112);
    customer(&k.c2, 0x2222, 0x2223);
    agent(&k.a, false);
    uint8_t buf[TC_PACKET_CAP];
    send_media(&k.c1, &k.a, 0x1111, 1000, 10);
    int before = k.a.n_sent;
    size_t len = rtx(buf, 9000, 0x2223, 50000); /* customer 2 has sent no media yet */
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, len), 0);
    assert_int_equal(k.a.n_sent, before);
    send_media(&k.c2, &k.a, 0x2222, 50000, 5);
    before = k.a.n_sent;
    len = rtx(buf, 9001, 0x2223, 49990); /* before the agent saw customer 2 */
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, len), 0);
    len = rtx(buf, 9002, 0x2223, 50100); /* not sent yet */
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, len), 0);
    assert_int_equal(k.a.n_sent, before);
    len = rtx(buf, 9003, 0x2223, 50001);
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, 13), -EINVAL);
    assert_int_equal(k.a.n_sent, before);
    len = rtx(buf, 9003, 0x2223, 50001);
    assert_int_equal(tc_relay_on_rtp(&k.c2, &k.a, buf, len), 0);
    expect_rtx(last_sent(&k.a), 9003, 1011); /* the first RTX the agent gets: seq as sent */
}

/* The last PLI a leg sent its peer: false if none. */
static bool sent_pli(const tc_leg *leg, uint32_t *sender, uint32_t *media)
{
    for (int i = leg->n_sent - 1; i >= 0; i--) {
        const sent_packet *p = &leg->sent[i];
        if (!p->rtcp)
            continue;
        tc_rtcp_iter it;
        tc_rtcp_packet pkt;
        tc_rtcp_iter_init(&it, p->data, p->len);
        while (tc_rtcp_iter_next(&it, &pkt) == 1) {
            tc_rtcp_fb fb;
            if (pkt.pt == TC_RTCP_PSFB && tc_rtcp_parse_fb(&pkt, &fb) == 0 &&
                fb.kind == TC_RTCP_FB_PLI) {
                *sender = fb.sender_ssrc;
                *media = fb.media_ssrc;
                return true;
            }
        }
    }
    return false;
}

/* A new sender is asked for a keyframe as soon as its first packet is
 * forwarded: the agent's browser sees one stream go on and will not ask. */
static void a_new_source_is_asked_for_a_keyframe(void **state)
{
    (void)state;
    call k;
    reload(&k, false);
    uint32_t sender = 0, media = 0;
    assert_true(sent_pli(&k.c2, &sender, &media));
    assert_int_equal(media, 0x2222);
    assert_int_equal(sender, C_OUT_VIDEO);
    assert_int_equal(k.c2.stats.plis_tx, 1);
    /* once: the next packets of the same source ask nothing */
    send_media(&k.c2, &k.a, 0x2222, 50005, 3);
    assert_int_equal(k.c2.stats.plis_tx, 1);
    /* the first source of a stream is asked when the legs are bridged */
    assert_int_equal(k.c1.stats.plis_tx, 0);
}

static size_t agent_feedback(uint8_t *buf, bool pli, const uint16_t *seqs, size_t n)
{
    tc_rtcp_rr rr = {.ssrc = AGENT_RECV};
    int used = tc_rtcp_write_rr(buf, TC_PACKET_CAP, &rr);
    assert_true(used > 0);
    int w =
        pli ? tc_rtcp_write_pli(buf + used, TC_PACKET_CAP - (size_t)used, AGENT_RECV, A_OUT_VIDEO)
            : tc_rtcp_write_nack(buf + used, TC_PACKET_CAP - (size_t)used, AGENT_RECV, A_OUT_VIDEO,
                                 seqs, n);
    assert_true(w > 0);
    return (size_t)(used + w);
}

/* The agent's PLI reaches the sender whose packets it gets: by the SSRC that
 * sender uses, even when its offer named another (or none). */
static void the_agents_pli_names_the_current_sender(void **state)
{
    (void)state;
    call k;
    customer(&k.c1, 0x1111, 0x1112);
    customer(&k.c2, 0x9999, 0); /* its offer named 0x9999; it sends 0x2222 */
    agent(&k.a, false);
    send_media(&k.c1, &k.a, 0x1111, 1000, 10);
    send_media(&k.c2, &k.a, 0x2222, 50000, 5);
    int before = k.c2.n_sent;
    uint8_t buf[TC_PACKET_CAP];
    size_t len = agent_feedback(buf, true, NULL, 0);
    assert_int_equal(tc_relay_on_rtcp(&k.a, &k.c2, buf, len), 0);
    assert_int_equal(k.c2.n_sent, before + 1);
    uint32_t sender = 0, media = 0;
    assert_true(sent_pli(&k.c2, &sender, &media));
    assert_int_equal(media, 0x2222);
    assert_int_equal(sender, 0xC2C2C2C2u); /* ours on that leg, not the agent's */
    assert_int_equal(k.a.stats.plis_rx, 1);
}

/* NACKs the relay cannot serve go to the sender in its own numbers; the
 * packets of a sender that is gone are not asked of the new one. */
static void nacks_are_translated_to_the_current_sender(void **state)
{
    (void)state;
    call k;
    reload(&k, false); /* nothing kept: every NACK goes to the sender */
    uint8_t buf[TC_PACKET_CAP];
    const uint16_t seqs[] = {1005, 1011, 1013};
    size_t len = agent_feedback(buf, false, seqs, 3);
    assert_int_equal(tc_relay_on_rtcp(&k.a, &k.c2, buf, len), 0);
    const sent_packet *p = last_sent(&k.c2);
    assert_true(p->rtcp);
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    tc_rtcp_iter_init(&it, p->data, p->len);
    bool found = false;
    while (tc_rtcp_iter_next(&it, &pkt) == 1) {
        tc_rtcp_fb fb;
        if (pkt.pt != TC_RTCP_RTPFB || tc_rtcp_parse_fb(&pkt, &fb) != 0)
            continue;
        assert_int_equal(fb.kind, TC_RTCP_FB_NACK);
        assert_int_equal(fb.media_ssrc, 0x2222);
        assert_int_equal(fb.nack_count, 2);
        assert_int_equal(fb.nack_seqs[0], 50001);
        assert_int_equal(fb.nack_seqs[1], 50003);
        found = true;
    }
    assert_true(found);
    /* only packets of the sender that is gone: nothing is forwarded */
    int before = k.c2.n_sent;
    const uint16_t old[] = {1002};
    len = agent_feedback(buf, false, old, 1);
    assert_int_equal(tc_relay_on_rtcp(&k.a, &k.c2, buf, len), 0);
    assert_int_equal(k.c2.n_sent, before);
}

/* The NACKed seqs of the last NACK a leg sent its peer; the count. */
static int sent_nack(const tc_leg *leg, uint32_t *media, uint16_t *seqs)
{
    for (int i = leg->n_sent - 1; i >= 0; i--) {
        if (!leg->sent[i].rtcp)
            continue;
        tc_rtcp_iter it;
        tc_rtcp_packet pkt;
        tc_rtcp_iter_init(&it, leg->sent[i].data, leg->sent[i].len);
        while (tc_rtcp_iter_next(&it, &pkt) == 1) {
            static tc_rtcp_fb fb;
            if (pkt.pt == TC_RTCP_RTPFB && tc_rtcp_parse_fb(&pkt, &fb) == 0 &&
                fb.kind == TC_RTCP_FB_NACK) {
                *media = fb.media_ssrc;
                memcpy(seqs, fb.nack_seqs, fb.nack_count * sizeof *seqs);
                return fb.nack_count;
            }
        }
    }
    return 0;
}

/* While a stream has had one source, nothing is shifted: a NACK or an RTX for
 * a packet from before the relay forwarded any (the receiver's guess, a
 * sender's own history) keeps its number and goes on, as the sender or the
 * receiver may still make sense of it. */
static void one_source_passes_numbers_as_they_are(void **state)
{
    (void)state;
    call k;
    customer(&k.c1, 0x1111, 0x1112);
    agent(&k.a, false);
    send_media(&k.c1, &k.a, 0x1111, 1000, 10);
    uint8_t buf[TC_PACKET_CAP];
    const uint16_t seqs[] = {(uint16_t)(1009 - 2000), 1004};
    size_t len = agent_feedback(buf, false, seqs, 2);
    assert_int_equal(tc_relay_on_rtcp(&k.a, &k.c1, buf, len), 0);
    uint32_t media = 0;
    uint16_t got[TC_RTCP_MAX_NACK_SEQS];
    assert_int_equal(sent_nack(&k.c1, &media, got), 2);
    assert_int_equal(media, 0x1111);
    assert_int_equal(got[0], (uint16_t)(1009 - 2000));
    assert_int_equal(got[1], 1004);
    len = rtx(buf, 300, 0x1112, (uint16_t)(1009 - 2000));
    assert_int_equal(tc_relay_on_rtp(&k.c1, &k.a, buf, len), 0);
    expect_rtx(last_sent(&k.a), 300, (uint16_t)(1009 - 2000));
}

/* What the relay still keeps it resends itself, with the numbers the agent
 * knows, whoever sent it. */
static void nacks_are_served_from_what_was_sent(void **state)
{
    (void)state;
    call k;
    reload(&k, true);
    int before = k.a.n_sent;
    uint8_t buf[TC_PACKET_CAP];
    const uint16_t seqs[] = {1003, 1012};
    size_t len = agent_feedback(buf, false, seqs, 2);
    assert_int_equal(tc_relay_on_rtcp(&k.a, &k.c2, buf, len), 0);
    assert_int_equal(k.a.n_sent, before + 2);
    tc_rtp_header h;
    parse_sent(&k.a.sent[before], &h);
    assert_int_equal(h.seq, 1003);
    parse_sent(&k.a.sent[before + 1], &h);
    assert_int_equal(h.seq, 1012);
    assert_int_equal(h.ssrc, A_OUT_VIDEO);
    cleanup_call(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rtx_osn_follows_the_shift),
        cmocka_unit_test(rtx_timestamp_follows_the_shift),
        cmocka_unit_test(rtx_sequence_stays_continuous),
        cmocka_unit_test(rtx_of_nothing_forwarded_is_dropped),
        cmocka_unit_test(a_new_source_is_asked_for_a_keyframe),
        cmocka_unit_test(the_agents_pli_names_the_current_sender),
        cmocka_unit_test(nacks_are_translated_to_the_current_sender),
        cmocka_unit_test(nacks_are_served_from_what_was_sent),
        cmocka_unit_test(one_source_passes_numbers_as_they_are),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
