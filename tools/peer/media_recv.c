/*
 * media_recv.c: what a tc_msession measures in what it receives. Audio is
 * decoded (Opus, mono 48 kHz) into the tone meter; video packets carry the
 * sender's marker (see media_send.c), from which come loss (the sender's own
 * sequence numbers, so the relay's rewriting of RTP sequence numbers does not
 * matter), one-way latency (the sender's CLOCK_REALTIME: same host) and
 * keyframes; RTCP feedback is counted, and a PLI or FIR makes the next video
 * frame a keyframe. An RTX packet's original sequence number (RFC 4588) and
 * timestamp are checked against the marker of the packet it repeats: the
 * stream's packets say which RTP sequence number and timestamp go with which
 * marker. No allocation per packet.
 */
#include "msession_internal.h"

#include "telecounter/rtcp.h"
#include "telecounter/rtp.h"

#include <errno.h>
#include <string.h>

#define OPUS_MAX_FRAME 5760  /* 120 ms at 48 kHz */
#define AUDIO_SEQ_RESET 1000 /* a jump this big is a new source, not loss */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int tc_msession_recv_init(tc_msession *s)
{
    int err = 0;
    s->rx.dec = opus_decoder_create(TC_TONE_RATE, 1, &err);
    if (!s->rx.dec)
        return -ENOMEM;
    tc_tone_meter_init(&s->rx.meter);
    s->rx.lat_max = -1;
    return 0;
}

void tc_msession_recv_cleanup(tc_msession *s)
{
    if (s->rx.dec)
        opus_decoder_destroy(s->rx.dec);
    s->rx.dec = NULL;
}

static void count_audio_seq(tc_rx *rx, const tc_rtp_header *h)
{
    if (rx->audio_seq_valid && h->ssrc == rx->audio_last_ssrc) {
        uint16_t gap = (uint16_t)(h->seq - rx->audio_last_seq - 1);
        if (gap >= 0x8000) /* late or duplicate: neither loss nor news */
            return;
        if (gap < AUDIO_SEQ_RESET)
            rx->audio_lost += gap;
    }
    rx->audio_seq_valid = true;
    rx->audio_last_ssrc = h->ssrc;
    rx->audio_last_seq = h->seq;
}

static void on_audio(tc_msession *s, const uint8_t *pkt, const tc_rtp_header *h)
{
    s->rx.audio_received++;
    count_audio_seq(&s->rx, h);
    int16_t pcm[OPUS_MAX_FRAME];
    int n = opus_decode(s->rx.dec, pkt + h->header_len, (opus_int32)h->payload_len, pcm,
                        OPUS_MAX_FRAME, 0);
    if (n <= 0)
        return;
    s->rx.audio_frames++;
    tc_tone_meter_feed(&s->rx.meter, pcm, (size_t)n);
    if (s->faults)
        tc_faults_on_pcm(s, pcm, (size_t)n);
}

/* Length of the VP8 payload descriptor (RFC 7741 section 4.2), or 0 if it
 * runs past len. */
static size_t vp8_descriptor_len(const uint8_t *p, size_t len)
{
    size_t n = 1;
    if (len < 1)
        return 0;
    if (p[0] & 0x80) {
        if (len < 2)
            return 0;
        uint8_t x = p[1];
        n = 2;
        if (x & 0x80) /* I: picture id, 7 or 15 bits */
            n += (len > n && (p[n] & 0x80)) ? 2 : 1;
        if (x & 0x40) /* L: TL0PICIDX */
            n++;
        if (x & 0x30) /* T or K */
            n++;
    }
    return n <= len ? n : 0;
}

static void latency_add(tc_rx *rx, int64_t us)
{
    size_t b;
    if (us < 0)
        us = 0;
    if (us < TC_LAT_FINE)
        b = (size_t)us;
    else if ((us - TC_LAT_FINE) / TC_LAT_COARSE_US < TC_LAT_COARSE)
        b = TC_LAT_FINE + (size_t)((us - TC_LAT_FINE) / TC_LAT_COARSE_US);
    else
        b = TC_LAT_BUCKETS - 1;
    rx->lat[b]++;
    rx->lat_n++;
    if (us > rx->lat_max)
        rx->lat_max = us;
}

/* The timestamp our frame number in marker m stands for, from the sender's first. */
static uint32_t frame_ts(const uint8_t *m)
{
    return get32(m + 16) * (90000 / TC_PEER_VIDEO_FPS);
}

/* Where our marker sits in a VP8 payload, or NULL when it is not ours. */
static const uint8_t *video_mark(const uint8_t *p, size_t len, bool *first)
{
    size_t d = vp8_descriptor_len(p, len);
    if (d == 0)
        return NULL;
    *first = (p[0] & 0x10) && (p[0] & 0x0f) == 0;
    size_t off = d + (*first ? 10 : 0);
    if (len < off + TC_PEER_VIDEO_MARK_LEN || get32(p + off) != TC_PEER_VIDEO_MAGIC)
        return NULL; /* somebody else's video: not ours to measure */
    return p + off;
}

static void on_video_mark(tc_rx *rx, const uint8_t *m, bool first)
{
    uint64_t sent_us = (uint64_t)get32(m + 4) << 32 | get32(m + 8);
    uint32_t seq = get32(m + 12);
    rx->video_received++;
    if (!rx->first_video_us)
        rx->first_video_us = tc_peer_mono_us();
    if (!rx->video_seq_valid) {
        rx->video_seq_valid = true;
        rx->video_first_seq = rx->video_max_seq = seq;
    } else if (seq > rx->video_max_seq) {
        rx->video_max_seq = seq;
    } else if (seq < rx->video_first_seq) {
        rx->video_first_seq = seq;
    }
    latency_add(rx, tc_peer_real_us() - (int64_t)sent_us);
    if (first && (m[20] & TC_PEER_FLAG_KEYFRAME))
        rx->keyframes++;
}

static void on_video(tc_msession *s, const uint8_t *pkt, const tc_rtp_header *h)
{
    const uint8_t *p = pkt + h->header_len;
    size_t len = h->payload_len;
    if (s->faults)
        tc_faults_on_video_seq(s, h->seq);
    if (!s->rx.remote_video_ssrc)
        s->rx.remote_video_ssrc = h->ssrc;
    bool first;
    const uint8_t *m = video_mark(p, len, &first);
    if (!m)
        return;
    on_video_mark(&s->rx, m, first);
    s->rx.video_delta = (uint16_t)(h->seq - (uint16_t)get32(m + 12));
    s->rx.video_ts_delta = h->ts - frame_ts(m);
    s->rx.video_delta_valid = true;
    if (s->faults)
        tc_faults_on_video_mark(s, m);
}

/* RTX: the packet it repeats must be the one the stream carried under its
 * original sequence number. */
static void on_rtx(tc_msession *s, const uint8_t *pkt, const tc_rtp_header *h)
{
    s->rx.rtx_received++;
    uint16_t osn;
    bool first;
    if (tc_rtp_rtx_osn(pkt, h->header_len + h->payload_len, h, &osn) != 0)
        return; /* padding only */
    const uint8_t *m = video_mark(pkt + h->header_len + 2, h->payload_len - 2, &first);
    if (!m || !s->rx.video_delta_valid)
        return;
    s->rx.rtx_osn_checked++;
    if ((uint16_t)(osn - (uint16_t)get32(m + 12)) != s->rx.video_delta)
        s->rx.rtx_osn_wrong++;
    if (h->ts - frame_ts(m) != s->rx.video_ts_delta)
        s->rx.rtx_ts_wrong++;
}

static void on_rtcp(tc_msession *s, const uint8_t *p, size_t len)
{
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    tc_rtcp_fb fb;
    s->rx.rtcp_received++;
    tc_rtcp_iter_init(&it, p, len);
    while (tc_rtcp_iter_next(&it, &pkt) == 1) {
        if (pkt.pt == TC_RTCP_RTPFB && s->faults && tc_rtcp_parse_fb(&pkt, &fb) == 0 &&
            fb.kind == TC_RTCP_FB_NACK)
            tc_faults_on_nack(s, fb.nack_count);
        if (pkt.pt != TC_RTCP_PSFB || tc_rtcp_parse_fb(&pkt, &fb) != 0)
            continue;
        if (fb.kind == TC_RTCP_FB_PLI)
            s->rx.plis++;
        else if (fb.kind == TC_RTCP_FB_FIR)
            s->rx.firs++;
        else
            continue;
        tc_msession_request_keyframe(s);
    }
}

void tc_msession_on_srtp(tc_msession *s, uint8_t *pkt, size_t len, bool rtcp)
{
    if (rtcp) {
        if (tc_srtp_unprotect_rtcp(s->srtp, pkt, &len) != 0)
            s->rx.srtp_errors++;
        else
            on_rtcp(s, pkt, len);
        return;
    }
    tc_rtp_header h;
    if (tc_srtp_unprotect_rtp(s->srtp, pkt, &len) != 0) {
        s->rx.srtp_errors++;
        return;
    }
    if (tc_rtp_parse(pkt, len, &h) != 0)
        return;
    if (h.pt == s->rx.audio_pt)
        on_audio(s, pkt, &h);
    else if (h.pt == s->rx.video_pt)
        on_video(s, pkt, &h);
    else if (h.pt == s->rx.rtx_pt)
        on_rtx(s, pkt, &h);
}

/* The latency below which a fraction q of the samples fall. */
static int64_t latency_quantile(const tc_rx *rx, double q)
{
    if (rx->lat_n == 0)
        return -1;
    uint64_t target = (uint64_t)(q * (double)rx->lat_n);
    if (target == 0)
        target = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < TC_LAT_BUCKETS - 1; b++) {
        seen += rx->lat[b];
        if (seen < target)
            continue;
        if (b < TC_LAT_FINE)
            return (int64_t)b;
        return TC_LAT_FINE + (int64_t)(b - TC_LAT_FINE) * TC_LAT_COARSE_US + TC_LAT_COARSE_US / 2;
    }
    return rx->lat_max;
}

void tc_msession_recv_stats(const tc_msession *s, tc_peer_media_stats *out)
{
    const tc_rx *rx = &s->rx;
    out->audio_received = rx->audio_received;
    out->audio_lost = rx->audio_lost;
    out->audio_decoded_frames = rx->audio_frames;
    out->video_received = rx->video_received;
    uint64_t expected =
        rx->video_seq_valid ? (uint64_t)(rx->video_max_seq - rx->video_first_seq) + 1 : 0;
    out->video_lost = expected > rx->video_received ? expected - rx->video_received : 0;
    out->video_loss = expected ? (double)out->video_lost / (double)expected : 0;
    out->rtx_received = rx->rtx_received;
    out->rtx_osn_checked = rx->rtx_osn_checked;
    out->rtx_osn_wrong = rx->rtx_osn_wrong;
    out->rtx_ts_wrong = rx->rtx_ts_wrong;
    out->rtcp_received = rx->rtcp_received;
    out->srtp_errors = rx->srtp_errors;
    out->keyframes_received = rx->keyframes;
    out->plis_received = rx->plis;
    out->firs_received = rx->firs;
    out->latency_p50_us = latency_quantile(rx, 0.50);
    out->latency_p99_us = latency_quantile(rx, 0.99);
    out->latency_max_us = rx->lat_max;
    out->dominant_hz = tc_tone_meter_dominant_hz(&rx->meter);
    out->tone_windows = rx->meter.n_est;
    out->hold_audio_packets = rx->analyzing ? rx->hold_audio_packets : rx->audio_received;
    out->hold_audio_voiced = rx->analyzing ? rx->hold_voiced : rx->meter.voiced;
}
