/*
 * relay.c: what crosses from one leg of a call to the other, on their worker.
 *
 * RTP: the stream is found by payload type; payload type, SSRC and header
 * extension ids are rewritten to what the other leg negotiated; sequence
 * numbers and timestamps pass through, shifted only when the source of an
 * outgoing stream changes (hold audio, then the agent), so that the receiver
 * sees one continuous stream. An RTX packet (RFC 4588) names the packet it
 * repeats by its original sequence number inside its payload: that number is
 * shifted with the stream it repairs, as is its timestamp (the original's, which
 * the receiver gives the packet it rebuilds), and the RTX stream's own sequence
 * numbers stay continuous the same way; a new source is asked for a keyframe at
 * once.
 * RTCP: a NACK is served from what we sent when the packet is still kept, and
 * forwarded for the rest (in the current sender's sequence numbers, and only
 * for what that sender sent); PLI, FIR and REMB (capped at
 * media.max_bitrate_bps) are forwarded to the sender whose packets we forward,
 * behind an empty receiver report; sender and receiver reports end here. No
 * allocation, no lock, no log on this path.
 */
#include "media_internal.h"

#include "telecounter/rtcp.h"
#include "telecounter/rtp.h"

#include <errno.h>
#include <sys/types.h>
#include <string.h>

static int stream_by_pt(tc_leg *leg, uint8_t pt, bool *is_rtx)
{
    int n;
    tc_relay_stream *s = tc_leg_streams(leg, &n);
    for (int i = 0; i < n; i++) {
        if (!s[i].accepted)
            continue;
        if (s[i].pt == pt || (s[i].rtx_pt && s[i].rtx_pt == pt)) {
            *is_rtx = s[i].pt != pt;
            return i;
        }
    }
    return -1;
}

static int stream_of_kind(tc_leg *leg, tc_sdp_kind kind)
{
    int n;
    tc_relay_stream *s = tc_leg_streams(leg, &n);
    for (int i = 0; i < n; i++)
        if (s[i].accepted && s[i].kind == kind)
            return i;
    return -1;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void tc_relay_send_stream(tc_leg *leg, int i, uint32_t source, uint8_t *buf, size_t len, size_t cap)
{
    int n;
    tc_relay_stream *s = &tc_leg_streams(leg, &n)[i];
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
    int64_t now_us = g_get_monotonic_time();
    if (!s->out_started) {
        s->out_started = true;
        s->seq_offset = 0;
        s->ts_offset = 0;
        s->source_first_seq = seq;
    } else if (source != s->out_source) {
        uint32_t elapsed = (uint32_t)((now_us - s->last_us) * (int64_t)s->clock_rate / 1000000);
        s->seq_offset = (uint16_t)(s->last_seq + 1 - seq);
        s->ts_offset = s->last_ts + (elapsed ? elapsed : 1) - ts;
        s->source_first_seq = (uint16_t)(s->last_seq + 1);
        s->source_changed = true;
    }
    s->out_source = source;
    s->last_seq = (uint16_t)(seq + s->seq_offset);
    s->last_ts = ts + s->ts_offset;
    s->last_us = now_us;
    tc_report_tx(s, len > 12 ? len - 12 : 0, s->last_ts, now_us);
    buf[2] = (uint8_t)(s->last_seq >> 8);
    buf[3] = (uint8_t)s->last_seq;
    put32(buf + 4, s->last_ts);
    put32(buf + 8, s->out_ssrc);
    if (s->sent)
        tc_rtx_buffer_put(s->sent, s->last_seq, buf, len);
    tc_leg_send_rtp(leg, buf, len, cap);
}

/* Whether our sequence number seq can stand for a packet of the current
 * source: one it sent between its first packet and the newest (modulo 2^16),
 * or any if it is the stream's only source so far (no shift: a packet we never
 * forwarded has the same number for its sender). */
static bool from_current_source(const tc_relay_stream *s, uint16_t seq)
{
    uint16_t span = (uint16_t)(s->last_seq - s->source_first_seq);
    if (!s->out_started)
        return false;
    return !s->source_changed || (uint16_t)(seq - s->source_first_seq) <= span;
}

/* Forwards an RTX packet (RFC 4588) from `from`, which repairs the media it
 * sends on stream src, as RTX of stream j of leg `to`. The original sequence
 * number in its payload and the timestamp are shifted as the packet it names
 * was when we sent it; a packet that does not name one we sent from this
 * source is dropped, as the receiver would take it for another. Padding-only
 * RTX carries no number. */
static int send_rtx(tc_leg *to, int j, const tc_relay_stream *src, const tc_rtp_header *h,
                    uint8_t *buf, size_t len)
{
    int n;
    tc_relay_stream *dst = &tc_leg_streams(to, &n)[j];
    uint16_t osn;
    int rc = tc_rtp_rtx_osn(buf, len, h, &osn);
    if (rc == -EINVAL)
        return rc;
    if (rc == 0) {
        uint16_t ours = (uint16_t)(osn + dst->seq_offset);
        if (!src->rx_media_ssrc || dst->out_source != src->rx_media_ssrc ||
            !from_current_source(dst, ours))
            return 0;
        tc_rtp_set_rtx_osn(buf, len, h, ours);
        tc_rtp_set_ts(buf, len, h->ts + dst->ts_offset);
    }
    if (!dst->rtx_started) {
        dst->rtx_started = true;
        dst->rtx_seq_offset = 0;
    } else if (h->ssrc != dst->rtx_source) {
        dst->rtx_seq_offset = (uint16_t)(dst->rtx_last_seq + 1 - h->seq);
    }
    dst->rtx_source = h->ssrc;
    dst->rtx_last_seq = (uint16_t)(h->seq + dst->rtx_seq_offset);
    tc_rtp_set_seq(buf, len, dst->rtx_last_seq);
    tc_rtp_set_ssrc(buf, len, dst->out_rtx_ssrc);
    tc_leg_send_rtp(to, buf, len, TC_PACKET_CAP);
    return 0;
}

/* An empty receiver report: a compound must start with SR or RR. */
static size_t empty_rr(uint8_t *out, uint32_t ssrc)
{
    out[0] = 0x80;
    out[1] = 201;
    out[2] = 0;
    out[3] = 1;
    put32(out + 4, ssrc);
    return 8;
}

/* A PLI to the peer of leg for the video it sends on stream s as SSRC media. */
static void request_keyframe_of(tc_leg *leg, const tc_relay_stream *s, uint32_t media)
{
    uint8_t out[TC_PACKET_CAP];
    size_t used = empty_rr(out, s->out_ssrc);
    int w = tc_rtcp_write_pli(out + used, sizeof out - used, s->out_ssrc, media);
    if (w <= 0)
        return;
    tc_leg_send_rtcp(leg, out, used + (size_t)w, sizeof out);
    tc_leg_stats_of(leg)->plis_tx++;
}

static tc_relay_stream *stream_by_out_ssrc(tc_leg *leg, uint32_t ssrc)
{
    int n;
    tc_relay_stream *s = tc_leg_streams(leg, &n);
    for (int i = 0; i < n; i++)
        if (s[i].accepted && s[i].out_ssrc == ssrc)
            return &s[i];
    return NULL;
}

/* Serves a NACK from what `leg` sent; writes a NACK for the rest (in the
 * sender's sequence numbers) into out. Returns the bytes written, 0 if every
 * packet was resent. */
static ssize_t serve_nack(tc_leg *leg, const tc_rtcp_fb *fb, uint8_t *out, size_t cap)
{
    tc_relay_stream *s = stream_by_out_ssrc(leg, fb->media_ssrc);
    uint16_t missing[TC_RTCP_MAX_NACK_SEQS];
    size_t n_missing = 0;
    for (uint16_t k = 0; k < fb->nack_count; k++) {
        const uint8_t *data;
        size_t len;
        if (s && s->sent && tc_rtx_buffer_get(s->sent, fb->nack_seqs[k], &data, &len) == 0) {
            uint8_t again[TC_PACKET_CAP];
            memcpy(again, data, len);
            tc_leg_send_rtp(leg, again, len, sizeof again);
        } else if (!s) {
            missing[n_missing++] = fb->nack_seqs[k];
        } else if (from_current_source(s, fb->nack_seqs[k])) {
            /* what the current sender sent, in its own numbers; a packet of
             * a source gone (or hold audio) cannot be asked of it */
            missing[n_missing++] = (uint16_t)(fb->nack_seqs[k] - s->seq_offset);
        }
    }
    if (n_missing == 0)
        return 0;
    int w = tc_rtcp_write_nack(out, cap, fb->sender_ssrc, fb->media_ssrc, missing, n_missing);
    return w > 0 ? w : 0;
}

int tc_relay_on_rtp(tc_leg *from, tc_leg *to, uint8_t *buf, size_t len)
{
    tc_rtp_header h;
    bool rtx = false;
    if (tc_rtp_parse(buf, len, &h) != 0)
        return -EINVAL;
    int i = stream_by_pt(from, h.pt, &rtx);
    if (i < 0)
        return -EINVAL;
    int n;
    tc_relay_stream *src = &tc_leg_streams(from, &n)[i];
    if (rtx && !src->in_rtx_ssrc)
        src->in_rtx_ssrc = h.ssrc;
    else if (!rtx && !src->in_ssrc)
        src->in_ssrc = h.ssrc;
    if (!rtx)
        src->rx_media_ssrc = h.ssrc;
    if (!rtx && h.ssrc == src->in_ssrc)
        tc_report_rx(src, h.seq, h.ts, g_get_monotonic_time());
    if (!to)
        return 0;
    int j = stream_of_kind(to, src->kind);
    if (j < 0)
        return 0;
    tc_relay_stream *dst = &tc_leg_streams(to, &n)[j];
    if (rtx && !dst->rtx_pt)
        return 0;
    if (h.ext_count)
        tc_rtp_rewrite_ext_ids(buf, len, &h, tc_leg_ext_map_to(from, to));
    tc_rtp_set_pt(buf, len, rtx ? dst->rtx_pt : dst->pt);
    if (rtx)
        return send_rtx(to, j, src, &h, buf, len);
    bool new_source = dst->out_started && h.ssrc != dst->out_source;
    tc_relay_send_stream(to, j, h.ssrc, buf, len, TC_PACKET_CAP);
    /* The receiver sees one stream go on: it will not ask for a keyframe
     * itself, and a new sender's first frames may be lost or mid-picture. */
    if (new_source && dst->kind == TC_SDP_VIDEO)
        request_keyframe_of(from, src, h.ssrc);
    return 0;
}

/* The feedback of one packet, counted; REMB rewritten with the cap. Returns
 * the bytes appended to out, 0 to leave the packet out, or -1 for a malformed
 * one (a feedback type we do not handle is not malformed). */
static ssize_t take_feedback(tc_leg *from, const tc_rtcp_packet *pkt, uint8_t *out, size_t cap)
{
    tc_rtcp_fb fb;
    int rc = tc_rtcp_parse_fb(pkt, &fb);
    if (rc == -ENOTSUP)
        return 0;
    if (rc != 0)
        return -1;
    if (fb.kind == TC_RTCP_FB_TWCC)
        return 0;
    tc_leg_stats *st = tc_leg_stats_of(from);
    st->plis_rx += fb.kind == TC_RTCP_FB_PLI;
    st->firs_rx += fb.kind == TC_RTCP_FB_FIR;
    st->nacks_rx += fb.kind == TC_RTCP_FB_NACK;
    if (fb.kind == TC_RTCP_FB_NACK)
        return serve_nack(from, &fb, out, cap);
    if (fb.kind == TC_RTCP_FB_REMB) {
        uint64_t cap_bps = tc_leg_max_bitrate_bps(from);
        int w = tc_rtcp_write_remb(out, cap, fb.sender_ssrc,
                                   fb.remb_bitrate_bps < cap_bps ? fb.remb_bitrate_bps : cap_bps,
                                   fb.remb_ssrcs, fb.remb_ssrc_count);
        return w > 0 ? w : 0;
    }
    if (pkt->len > cap)
        return 0;
    memcpy(out, pkt->data, pkt->len);
    return (ssize_t)pkt->len;
}

/* Translation of the SSRCs `from` knows (ours on that leg) to the ones the
 * senders on `to` use. */
static size_t ssrc_pairs(tc_leg *from, tc_leg *to, tc_rtcp_ssrc_pair *pairs)
{
    int n, m;
    tc_relay_stream *fs = tc_leg_streams(from, &n);
    tc_relay_stream *ts = tc_leg_streams(to, &m);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        int j = fs[i].accepted ? stream_of_kind(to, fs[i].kind) : -1;
        if (j < 0)
            continue;
        /* Feedback is about what we forward: it goes to the SSRC the sender
         * uses now, which the offer need not have named (a new source). */
        uint32_t media = ts[j].rx_media_ssrc ? ts[j].rx_media_ssrc : ts[j].in_ssrc;
        pairs[count++] = (tc_rtcp_ssrc_pair){fs[i].out_ssrc, media};
        if (fs[i].out_rtx_ssrc && ts[j].in_rtx_ssrc)
            pairs[count++] = (tc_rtcp_ssrc_pair){fs[i].out_rtx_ssrc, ts[j].in_rtx_ssrc};
    }
    return count;
}

int tc_relay_on_rtcp(tc_leg *from, tc_leg *to, const uint8_t *buf, size_t len)
{
    uint8_t out[TC_PACKET_CAP];
    int n;
    tc_relay_stream *ts = to ? tc_leg_streams(to, &n) : NULL;
    uint32_t sender = ts && n > 0 ? ts[0].out_ssrc : 0;
    size_t used = empty_rr(out, sender);
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    tc_rtcp_iter_init(&it, buf, len);
    int rc;
    bool malformed = false;
    while ((rc = tc_rtcp_iter_next(&it, &pkt)) == 1) {
        if (pkt.pt == 205 || pkt.pt == 206) {
            ssize_t taken = take_feedback(from, &pkt, out + used, TC_MAX_PACKET - used);
            if (taken < 0)
                malformed = true;
            else
                used += (size_t)taken;
        } else if (pkt.pt == 200 || pkt.pt == 201) {
            tc_report_from_peer(from, &pkt, g_get_monotonic_time());
        }
    }
    /* A malformed packet is dropped and counted; the rest of its compound still
     * stands, as each packet's length was sound. */
    if (rc < 0)
        return -EINVAL;
    if (malformed && used == 8)
        return -EINVAL;
    if (!to || used == 8)
        return malformed ? -EINVAL : 0;
    tc_rtcp_ssrc_pair pairs[2 * TC_SDP_MAX_MEDIA];
    size_t np = ssrc_pairs(from, to, pairs);
    if (tc_rtcp_rewrite_feedback(out, used, sender, pairs, np) < 0)
        return -EINVAL;
    tc_leg_send_rtcp(to, out, used, sizeof out);
    return malformed ? -EINVAL : 0;
}

void tc_relay_request_keyframe(tc_leg *leg)
{
    int n;
    tc_relay_stream *s = tc_leg_streams(leg, &n);
    for (int i = 0; i < n; i++) {
        uint32_t media = s[i].rx_media_ssrc ? s[i].rx_media_ssrc : s[i].in_ssrc;
        if (s[i].accepted && s[i].kind == TC_SDP_VIDEO && media)
            request_keyframe_of(leg, &s[i], media);
    }
}
