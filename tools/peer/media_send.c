/*
 * media_send.c: what a tc_msession sends once SRTP is keyed. One 5 ms tick
 * drives everything: a 20 ms Opus frame of the sine tone when due, a video
 * frame at 30 fps (VP8 payload descriptor and frame tag, then our marker:
 * magic, send time, our sequence number, frame number, keyframe flag, then
 * filler to the configured bitrate; the RTP marker bit on a frame's last
 * packet), a sender report per stream every second, and PLIs when asked to.
 * With TC_PEER_RTX_PROBE_EVERY=N, every Nth frame's first packet goes out
 * again as RTX (RFC 4588), as browsers resend recent packets to probe
 * bandwidth: the receiver checks the original sequence number inside.
 *
 * The tone is encoded once per frequency for the whole process and looped: a
 * second of a whole-Hz tone is whole cycles, so the loop joins without a
 * click. Encoding it per peer was a quarter of a benchmark's peer CPU.
 */
#include "msession_internal.h"

#include "telecounter/log.h"
#include "telecounter/rtcp.h"
#include "telecounter/rtp.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#define TICK_MS 5
#define AUDIO_FRAME_US 20000
#define VIDEO_FRAME_US (1000000 / TC_PEER_VIDEO_FPS)
#define RTCP_INTERVAL_US 1000000
#define MAX_LATE_US 200000 /* further behind than this: skip ahead, don't burst */

#define TONE_LOOP_FRAMES (TC_TONE_RATE / TC_PEER_AUDIO_FRAME) /* one second */
#define TONE_FRAME_MAX 400

struct tc_tone_loop {
    unsigned hz;
    uint16_t len[TONE_LOOP_FRAMES];
    uint8_t frame[TONE_LOOP_FRAMES][TONE_FRAME_MAX];
};

static GMutex tone_loops_lock;
static GPtrArray *tone_loops; /* tc_tone_loop*, kept for the process: a few tones */

/* Two seconds are encoded and the second one kept, past the encoder's start. */
static struct tc_tone_loop *tone_loop_encode(unsigned hz)
{
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(TC_TONE_RATE, 1, OPUS_APPLICATION_AUDIO, &err);
    if (!enc)
        return NULL;
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
    struct tc_tone_loop *loop = g_new0(struct tc_tone_loop, 1);
    loop->hz = hz;
    tc_tone_gen gen;
    tc_tone_gen_init(&gen, hz, TC_TONE_RATE);
    for (int i = 0; i < 2 * TONE_LOOP_FRAMES && loop; i++) {
        int16_t pcm[TC_PEER_AUDIO_FRAME];
        uint8_t out[TONE_FRAME_MAX];
        tc_tone_gen_fill(&gen, pcm, TC_PEER_AUDIO_FRAME, 0.3);
        int n = opus_encode(enc, pcm, TC_PEER_AUDIO_FRAME, out, sizeof out);
        if (n <= 0) {
            g_free(loop);
            loop = NULL;
        } else if (i >= TONE_LOOP_FRAMES) {
            memcpy(loop->frame[i - TONE_LOOP_FRAMES], out, (size_t)n);
            loop->len[i - TONE_LOOP_FRAMES] = (uint16_t)n;
        }
    }
    opus_encoder_destroy(enc);
    return loop;
}

static const struct tc_tone_loop *tone_loop_for(unsigned hz)
{
    g_mutex_lock(&tone_loops_lock);
    if (!tone_loops)
        tone_loops = g_ptr_array_new();
    struct tc_tone_loop *found = NULL;
    for (guint i = 0; i < tone_loops->len && !found; i++)
        if (((struct tc_tone_loop *)tone_loops->pdata[i])->hz == hz)
            found = tone_loops->pdata[i];
    if (!found && (found = tone_loop_encode(hz)) != NULL)
        g_ptr_array_add(tone_loops, found);
    g_mutex_unlock(&tone_loops_lock);
    return found;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

int tc_msession_send_init(tc_msession *s)
{
    s->tx.tone = tone_loop_for(s->cfg.tone_hz);
    if (!s->tx.tone)
        return -ENOMEM;
    s->tx.frame_bytes = (size_t)s->cfg.video_kbps * 1000 / 8 / TC_PEER_VIDEO_FPS;
    s->tx.keyframe_pending = true; /* the first frame is a keyframe */
    const char *every = g_getenv("TC_PEER_RTX_PROBE_EVERY");
    s->tx.rtx_probe_every = every ? (unsigned)g_ascii_strtoull(every, NULL, 10) : 0;
    s->tx.rtx_seq = (uint16_t)g_random_int();
    s->direct.fd = -1;
    s->batch = tc_udp_batch_create(16, TC_PEER_PKT_CAP);
    return s->batch ? 0 : -ENOMEM;
}

void tc_msession_send_cleanup(tc_msession *s)
{
    if (s->tick) {
        g_source_destroy(s->tick);
        g_source_unref(s->tick);
        s->tick = NULL;
    }
    tc_udp_batch_destroy(s->batch);
    s->batch = NULL;
    s->direct.fd = -1;
    s->tx.tone = NULL;
}

void tc_msession_request_keyframe(tc_msession *s)
{
    s->tx.keyframe_pending = true;
}

static void send_protected(tc_msession *s, const uint8_t *pkt, size_t len)
{
    if (s->in_tick && s->direct.fd >= 0 &&
        tc_udp_batch_add(s->batch, s->direct.fd, (const struct sockaddr *)&s->direct.to,
                         s->direct.to_len, pkt, len) == 0)
        return;
    nice_agent_send(s->agent, s->stream, 1, (guint)len, (const gchar *)pkt);
}

void tc_msession_send_rtp(tc_msession *s, uint8_t *pkt, size_t len)
{
    if (tc_srtp_protect_rtp(s->srtp, pkt, &len, TC_PEER_PKT_CAP) == 0)
        send_protected(s, pkt, len);
}

void tc_msession_send_rtcp(tc_msession *s, uint8_t *pkt, size_t len)
{
    if (tc_srtp_protect_rtcp(s->srtp, pkt, &len, TC_PEER_PKT_CAP) == 0)
        send_protected(s, pkt, len);
}

void tc_msession_use_pair(tc_msession *s, bool selected)
{
    if (!s->batch) /* cleaned up */
        return;
    tc_udp_batch_flush(s->batch);
    if (!selected || !tc_ice_socket_of(s->agent, s->stream, 1, &s->direct))
        s->direct.fd = -1;
}

/* The fixed header and, when negotiated, a one-byte-form sdes:mid extension.
 * Returns the payload offset. */
static size_t write_header(const tc_msession *s, tc_tx_stream *st, uint8_t *p, bool marker)
{
    size_t mid_len = strlen(st->mid);
    bool ext = s->tx.mid_ext_id && mid_len >= 1 && mid_len <= 16;
    p[0] = (uint8_t)(0x80 | (ext ? 0x10 : 0));
    p[1] = (uint8_t)((marker ? 0x80 : 0) | st->pt);
    p[2] = (uint8_t)(st->seq >> 8);
    p[3] = (uint8_t)st->seq;
    put32(p + 4, st->ts);
    put32(p + 8, st->ssrc);
    st->seq++;
    if (!ext)
        return TC_RTP_HEADER_LEN;
    size_t words = (1 + mid_len + 3) / 4;
    p[12] = 0xBE;
    p[13] = 0xDE;
    p[14] = (uint8_t)(words >> 8);
    p[15] = (uint8_t)words;
    memset(p + 16, 0, words * 4);
    p[16] = (uint8_t)(s->tx.mid_ext_id << 4 | (mid_len - 1));
    memcpy(p + 17, st->mid, mid_len);
    return 16 + words * 4;
}

static void send_audio(tc_msession *s)
{
    uint8_t *p = s->pkt;
    size_t off = write_header(s, &s->tx.audio, p, false);
    int i = s->tx.tone_next;
    s->tx.tone_next = (i + 1) % TONE_LOOP_FRAMES;
    size_t n = s->tx.tone->len[i];
    memcpy(p + off, s->tx.tone->frame[i], n);
    s->tx.audio.ts += TC_PEER_AUDIO_FRAME;
    s->tx.audio_sent++;
    s->tx.audio_bytes += (uint64_t)n;
    tc_msession_send_rtp(s, p, off + n);
}

/* VP8 payload descriptor (RFC 7741) and, on a frame's first packet, a 10-byte
 * VP8 frame header: a relay that looks for keyframes finds the real bits. */
static size_t write_vp8(uint8_t *p, bool first, bool key)
{
    p[0] = first ? 0x10 : 0x00; /* S bit, partition 0 */
    if (!first)
        return 1;
    static const uint8_t keyhdr[10] = {0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
    static const uint8_t interhdr[10] = {0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(p + 1, key ? keyhdr : interhdr, 10);
    return 11;
}

/* The packet at p (its header hdr bytes, seq its sequence number) again, as
 * RTX: our RTX SSRC and sequence, then the original sequence number, then the
 * original payload. */
static void send_rtx_copy(tc_msession *s, const uint8_t *p, size_t hdr, size_t len, uint16_t seq)
{
    uint8_t rtx[TC_PEER_PKT_CAP];
    tc_tx_stream st = s->tx.video;
    st.pt = s->rx.rtx_pt;
    st.ssrc = s->tx.rtx_ssrc;
    st.seq = s->tx.rtx_seq;
    size_t off = write_header(s, &st, rtx, false);
    s->tx.rtx_seq = st.seq;
    if (off + 2 + (len - hdr) > sizeof rtx)
        return;
    rtx[off] = (uint8_t)(seq >> 8);
    rtx[off + 1] = (uint8_t)seq;
    memcpy(rtx + off + 2, p + hdr, len - hdr);
    tc_msession_send_rtp(s, rtx, off + 2 + (len - hdr));
}

static void send_video_packet(tc_msession *s, size_t chunk, bool first, bool last, bool key)
{
    uint8_t *p = s->pkt;
    uint16_t seq = s->tx.video.seq;
    size_t hdr = write_header(s, &s->tx.video, p, last);
    size_t off = hdr + write_vp8(p + hdr, first, key);
    put32(p + off, TC_PEER_VIDEO_MAGIC);
    put64(p + off + 4, (uint64_t)tc_peer_real_us());
    put32(p + off + 12, s->tx.video_seq++);
    put32(p + off + 16, s->tx.frame_no);
    p[off + 20] = key ? TC_PEER_FLAG_KEYFRAME : 0;
    off += TC_PEER_VIDEO_MARK_LEN;
    size_t payload = off - hdr;
    if (chunk > payload) {
        memset(p + off, 0, chunk - payload);
        off += chunk - payload;
    }
    s->tx.video_sent++;
    s->tx.video_bytes += off;
    bool probe = first && s->rx.rtx_pt && s->tx.rtx_probe_every &&
                 s->tx.frame_no % s->tx.rtx_probe_every == 0;
    uint8_t copy[TC_PEER_PKT_CAP];
    if (probe)
        memcpy(copy, p, off); /* sending protects p in place */
    tc_msession_send_rtp(s, p, off);
    if (probe)
        send_rtx_copy(s, copy, hdr, off, seq);
}

static void send_video_frame(tc_msession *s)
{
    bool key = s->tx.keyframe_pending;
    s->tx.keyframe_pending = false;
    if (key)
        s->tx.keyframes++;
    size_t total = s->tx.frame_bytes;
    size_t n = total / TC_PEER_VIDEO_MAX_PAYLOAD + 1;
    for (size_t i = 0; i < n; i++)
        send_video_packet(s, total / n, i == 0, i + 1 == n, key);
    s->tx.video.ts += 90000 / TC_PEER_VIDEO_FPS;
    s->tx.frame_no++;
    s->tx.video_frames++;
}

static uint64_t ntp_now(void)
{
    int64_t us = tc_peer_real_us();
    uint64_t secs = (uint64_t)(us / 1000000) + 2208988800u;
    uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000;
    return secs << 32 | frac;
}

static void send_reports(tc_msession *s)
{
    uint8_t *p = s->pkt;
    tc_rtcp_sr sr = {.ssrc = s->tx.audio.ssrc,
                     .ntp = ntp_now(),
                     .rtp_ts = s->tx.audio.ts,
                     .packet_count = (uint32_t)s->tx.audio_sent,
                     .octet_count = (uint32_t)s->tx.audio_bytes};
    int a = tc_rtcp_write_sr(p, 600, &sr);
    if (a < 0)
        return;
    sr.ssrc = s->tx.video.ssrc;
    sr.rtp_ts = s->tx.video.ts;
    sr.packet_count = (uint32_t)s->tx.video_sent;
    sr.octet_count = (uint32_t)s->tx.video_bytes;
    int v = s->cfg.video_kbps ? tc_rtcp_write_sr(p + a, 600, &sr) : 0;
    if (v < 0)
        return;
    tc_msession_send_rtcp(s, p, (size_t)(a + v));
}

static void send_pli(tc_msession *s)
{
    if (!s->rx.remote_video_ssrc)
        return;
    int n = tc_rtcp_write_pli(s->pkt, 600, s->tx.video.ssrc, s->rx.remote_video_ssrc);
    if (n > 0) {
        s->tx.plis_sent++;
        tc_msession_send_rtcp(s, s->pkt, (size_t)n);
    }
}

/* Runs the periodic job while its deadline has passed, at most 10 times a
 * tick; far behind (a stalled loop), skips ahead rather than bursting. */
#define CATCH_UP(next, now, period, job)                                                           \
    do {                                                                                           \
        for (int i_ = 0; (next) <= (now) && i_ < 10; i_++) {                                       \
            job;                                                                                   \
            (next) += (period);                                                                    \
        }                                                                                          \
        if ((now) - (next) > MAX_LATE_US)                                                          \
            (next) = (now);                                                                        \
    } while (0)

static gboolean on_tick(gpointer data)
{
    tc_msession *s = data;
    int64_t now = tc_peer_mono_us();
    s->in_tick = true;
    CATCH_UP(s->tx.audio_next_us, now, AUDIO_FRAME_US, send_audio(s));
    if (s->cfg.video_kbps)
        CATCH_UP(s->tx.video_next_us, now, VIDEO_FRAME_US, send_video_frame(s));
    if (now >= s->tx.rtcp_next_us) {
        send_reports(s);
        s->tx.rtcp_next_us = now + RTCP_INTERVAL_US;
    }
    if (s->cfg.pli_interval_ms && now >= s->tx.pli_next_us) {
        send_pli(s);
        s->tx.pli_next_us = now + (int64_t)s->cfg.pli_interval_ms * 1000;
    }
    s->in_tick = false;
    tc_udp_batch_flush(s->batch);
    if (s->faults)
        tc_faults_tick(s, now);
    return G_SOURCE_CONTINUE;
}

void tc_msession_send_start(tc_msession *s)
{
    int64_t now = tc_peer_mono_us();
    s->tx.audio_next_us = now;
    s->tx.video_next_us = now;
    s->tx.rtcp_next_us = now + RTCP_INTERVAL_US;
    s->tx.pli_next_us = now + (int64_t)s->cfg.pli_interval_ms * 1000;
    s->tick = g_timeout_source_new(TICK_MS);
    g_source_set_callback(s->tick, on_tick, s, NULL);
    g_source_attach(s->tick, s->ctx);
}
