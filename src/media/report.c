/*
 * report.c: the relay's own RTCP reports on each leg (RFC 3550 6.4). The
 * relay is the peer's only RTP partner, so it reports on what it receives
 * (loss, jitter, LSR/DLSR) and on what it sends (packet and octet counts, the
 * NTP/RTP time mapping), and reads the peer's reports for round-trip time and
 * loss. Peers' reports are not forwarded: they describe the other leg.
 */
#include "media_internal.h"

#include "telecounter/rtcp.h"

#include <string.h>

#define NTP_UNIX_OFFSET_S 2208988800ull

static uint64_t ntp_of(int64_t unix_us)
{
    uint64_t s = (uint64_t)(unix_us / 1000000) + NTP_UNIX_OFFSET_S;
    uint64_t frac = ((uint64_t)(unix_us % 1000000) << 32) / 1000000;
    return s << 32 | frac;
}

/* RFC 3550 A.1: sequence numbers extended with the count of wraps. */
void tc_report_rx(tc_relay_stream *s, uint16_t seq, uint32_t ts, int64_t now_us)
{
    if (!s->rx_started) {
        s->rx_started = true;
        s->rx_base_seq = seq;
        s->rx_max_seq = seq;
        s->rx_cycles = 0;
        s->rx_last_transit = 0;
    } else if ((uint16_t)(seq - s->rx_max_seq) < 0x8000) {
        if (seq < s->rx_max_seq)
            s->rx_cycles += 1u << 16;
        s->rx_max_seq = seq;
    }
    s->rx_received++;
    /* A.8: interarrival jitter in timestamp units, scaled by 16. */
    if (s->clock_rate) {
        int64_t arrival = now_us * (int64_t)s->clock_rate / 1000000;
        int64_t transit = arrival - (int64_t)ts;
        if (s->rx_last_transit) {
            int64_t d = transit - s->rx_last_transit;
            d = d < 0 ? -d : d;
            s->rx_jitter += (uint32_t)(d - ((s->rx_jitter + 8) >> 4));
        }
        s->rx_last_transit = transit;
    }
}

void tc_report_tx(tc_relay_stream *s, size_t payload_len, uint32_t ts, int64_t now_us)
{
    s->tx_packets++;
    s->tx_octets += (uint32_t)payload_len;
    s->tx_last_ts = ts;
    s->tx_last_us = now_us;
}

void tc_report_block(tc_relay_stream *s, int64_t now_us, tc_rtcp_report_block *b)
{
    uint32_t ext_max = s->rx_cycles + s->rx_max_seq;
    uint32_t expected = ext_max - s->rx_base_seq + 1;
    uint32_t expected_interval = expected - s->rx_expected_prior;
    uint32_t received_interval = s->rx_received - s->rx_received_prior;
    s->rx_expected_prior = expected;
    s->rx_received_prior = s->rx_received;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    int64_t lost = (int64_t)expected - (int64_t)s->rx_received;
    memset(b, 0, sizeof *b);
    b->ssrc = s->in_ssrc;
    b->fraction_lost = expected_interval && lost_interval > 0
                           ? (uint8_t)((lost_interval << 8) / expected_interval)
                           : 0;
    b->cumulative_lost = (int32_t)(lost > 0x7fffff    ? 0x7fffff
                                   : lost < -0x800000 ? -0x800000
                                                      : lost);
    b->ext_highest_seq = ext_max;
    b->jitter = s->rx_jitter >> 4;
    b->lsr = s->rx_lsr;
    if (s->rx_lsr)
        b->dlsr = (uint32_t)(((now_us - s->rx_lsr_at_us) << 16) / 1000000);
}

/* RTT from a report block about a stream we send (RFC 3550 6.4.1). */
static void read_block(tc_leg *leg, const tc_rtcp_report_block *b, int64_t now_us)
{
    int n;
    tc_relay_stream *s = tc_leg_streams(leg, &n);
    for (int i = 0; i < n; i++) {
        if (!s[i].accepted || s[i].out_ssrc != b->ssrc)
            continue;
        s[i].peer_fraction_lost = b->fraction_lost;
        if (b->lsr) {
            uint32_t now_mid = (uint32_t)(ntp_of(g_get_real_time()) >> 16);
            uint32_t rtt = now_mid - b->lsr - b->dlsr; /* 1/65536 s */
            if (rtt < (60u << 16))
                s[i].peer_rtt_ms = (uint32_t)(((uint64_t)rtt * 1000) >> 16);
        }
    }
    (void)now_us;
}

void tc_report_from_peer(tc_leg *leg, const void *packet, int64_t now_us)
{
    const tc_rtcp_packet *pkt = packet;
    if (pkt->pt == 200) {
        tc_rtcp_sr sr;
        if (tc_rtcp_parse_sr(pkt, &sr) != 0)
            return;
        int n;
        tc_relay_stream *s = tc_leg_streams(leg, &n);
        for (int i = 0; i < n; i++) {
            if (s[i].accepted && s[i].in_ssrc == sr.ssrc) {
                s[i].rx_lsr = (uint32_t)(sr.ntp >> 16);
                s[i].rx_lsr_at_us = now_us;
            }
        }
        for (int k = 0; k < sr.report_count; k++)
            read_block(leg, &sr.reports[k], now_us);
    } else if (pkt->pt == 201) {
        tc_rtcp_rr rr;
        if (tc_rtcp_parse_rr(pkt, &rr) != 0)
            return;
        for (int k = 0; k < rr.report_count; k++)
            read_block(leg, &rr.reports[k], now_us);
    }
}

/* Our blocks about every stream the peer sends us, into rr (up to 31). */
static int collect_blocks(tc_relay_stream *s, int n, int64_t now_us, tc_rtcp_report_block *blocks)
{
    int count = 0;
    for (int i = 0; i < n && count < TC_RTCP_MAX_REPORTS; i++)
        if (s[i].accepted && s[i].rx_started && s[i].in_ssrc)
            tc_report_block(&s[i], now_us, &blocks[count++]);
    return count;
}

static void fold_stats(tc_leg *leg, tc_relay_stream *s, int n)
{
    tc_leg_stats *st = tc_leg_stats_of(leg);
    uint32_t rtt = 0, lost = 0, jitter_ms = 0;
    for (int i = n - 1; i >= 0; i--) { /* audio is usually first: it wins ties */
        if (!s[i].accepted)
            continue;
        rtt = s[i].peer_rtt_ms ? s[i].peer_rtt_ms : rtt;
        lost = s[i].peer_fraction_lost > lost ? s[i].peer_fraction_lost : lost;
        if (s[i].clock_rate && s[i].rx_started)
            jitter_ms = (uint32_t)((uint64_t)(s[i].rx_jitter >> 4) * 1000 / s[i].clock_rate);
    }
    st->rtt_ms = rtt;
    st->loss_permille = lost * 1000 / 256;
    st->jitter_ms = jitter_ms;
}

void tc_report_send(tc_leg *leg, int64_t now_us)
{
    int n;
    tc_relay_stream *s = tc_leg_streams(leg, &n);
    uint8_t out[TC_PACKET_CAP];
    size_t used = 0;
    tc_rtcp_sr sr;
    memset(&sr, 0, sizeof sr);
    sr.report_count = (uint8_t)collect_blocks(s, n, now_us, sr.reports);
    bool blocks_sent = false;
    for (int i = 0; i < n; i++) {
        if (!s[i].accepted || !s[i].tx_packets)
            continue;
        sr.ssrc = s[i].out_ssrc;
        sr.ntp = ntp_of(g_get_real_time());
        sr.rtp_ts = s[i].tx_last_ts +
                    (uint32_t)((now_us - s[i].tx_last_us) * (int64_t)s[i].clock_rate / 1000000);
        sr.packet_count = s[i].tx_packets;
        sr.octet_count = s[i].tx_octets;
        if (blocks_sent)
            sr.report_count = 0;
        int w = tc_rtcp_write_sr(out + used, TC_MAX_PACKET - used, &sr);
        if (w > 0) {
            used += (size_t)w;
            blocks_sent = true;
        }
    }
    if (!blocks_sent && sr.report_count && n > 0) {
        tc_rtcp_rr rr = {.ssrc = s[0].out_ssrc, .report_count = sr.report_count};
        memcpy(rr.reports, sr.reports, sizeof rr.reports[0] * sr.report_count);
        int w = tc_rtcp_write_rr(out, sizeof out, &rr);
        used = w > 0 ? (size_t)w : 0;
    }
    if (used)
        tc_leg_send_rtcp(leg, out, used, sizeof out);
    fold_stats(leg, s, n);
}
