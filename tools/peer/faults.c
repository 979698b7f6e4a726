/*
 * faults.c: see faults.h. The fault packets are built here by hand (not with
 * the rtcp writers, which refuse to write bad packets) and go out through
 * the session's own SRTP context and ICE component.
 */
#include "faults.h"

#include "msession_internal.h"

#include "telecounter/log.h"
#include "telecounter/rtcp.h"
#include "telecounter/rtp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BAD_RTCP_KINDS 4
#define DEFAULT_GAP_MS 4000
#define DROPPED_KEPT 64      /* dropped sequence numbers remembered, for recovery */
#define STALE_NACK_EVERY 10  /* every Nth NACK also asks for a packet long gone */
#define STALE_NACK_BACK 2000 /* that far back */

static const char *const kind_names[BAD_RTCP_KINDS] = {"version", "length", "padding", "fb_short"};

struct tc_faults {
    int64_t call_us; /* 0: the call has not started (as the session sees it) */
    unsigned next_kind;
    int64_t next_burst_us;
    uint16_t plain_seq;
    /* the tone timeline: our own 0.2 s windows of the decoded audio */
    float win[TC_TONE_WIN];
    size_t fill;
    float decim_sum;
    unsigned decim_n;
    int64_t win_us[TC_PEER_TONE_TIMELINE_MAX];
    float win_hz[TC_PEER_TONE_TIMELINE_MAX];
    float hann[TC_TONE_WIN];
    unsigned n_win;
    tc_peer_fault_stats st;        /* the counters; tone_ms filled at stats time */
    uint64_t video_seen;           /* video datagrams in, for video_loss_every */
    int32_t dropped[DROPPED_KEPT]; /* seqs dropped and not yet seen again; -1: none */
    unsigned next_dropped;
};

bool tc_faults_wanted(const tc_peer_faults *c)
{
    return c->bad_fingerprint || c->plain_rtp_before_dtls || c->bad_rtcp_count ||
           c->tone_timeline || c->linger_ms || c->watch || c->video_loss_every;
}

tc_faults *tc_faults_create(tc_msession *s)
{
    (void)s;
    tc_faults *f = g_new0(tc_faults, 1);
    for (size_t i = 0; i < TC_TONE_WIN; i++)
        f->hann[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (TC_TONE_WIN - 1)));
    for (size_t i = 0; i < DROPPED_KEPT; i++)
        f->dropped[i] = -1;
    return f;
}

void tc_faults_destroy(tc_faults *f)
{
    g_free(f);
}

/* ---- the offer ----------------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void tc_faults_on_offer(tc_msession *s, char *sdp)
{
    if (!s->cfg.faults.bad_fingerprint)
        return;
    static const char key[] = "a=fingerprint:sha-256 ";
    unsigned n = 0;
    for (char *p = strstr(sdp, key); p; p = strstr(p + 1, key)) {
        char *h = p + sizeof key - 1; /* the first byte's two hex digits */
        int hi = hex_value(h[0]);
        if (hi < 0 || hex_value(h[1]) < 0)
            continue;
        h[0] = "0123456789ABCDEF"[hi ^ 0x8]; /* the byte's top bit flipped */
        n++;
    }
    tc_info("peer %s: fault: offer names a certificate that is not ours (%u fingerprint lines)",
            s->name, n);
}

/* ---- plain RTP before DTLS ------------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void tc_faults_before_dtls(tc_msession *s)
{
    tc_faults *f = s->faults;
    unsigned n = s->cfg.faults.plain_rtp_before_dtls;
    if (!n || f->st.plain_rtp_sent)
        return;
    static const uint8_t keyhdr[10] = {0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
    uint8_t p[200];
    for (unsigned i = 0; i < n; i++) {
        memset(p, 0, sizeof p);
        p[0] = 0x80;
        p[1] = s->tx.video.pt;
        p[2] = (uint8_t)(f->plain_seq >> 8);
        p[3] = (uint8_t)f->plain_seq;
        f->plain_seq++;
        put32(p + 4, 90 * i);
        put32(p + 8, s->tx.video.ssrc);
        size_t off = TC_RTP_HEADER_LEN;
        p[off++] = 0x10; /* VP8 descriptor: S, partition 0 */
        memcpy(p + off, keyhdr, sizeof keyhdr);
        off += sizeof keyhdr;
        put32(p + off, TC_PEER_VIDEO_MAGIC);
        uint64_t now = (uint64_t)tc_peer_real_us();
        put32(p + off + 4, (uint32_t)(now >> 32));
        put32(p + off + 8, (uint32_t)now);
        put32(p + off + 12, 0xFFFF0000u + i); /* far from the real sequence */
        put32(p + off + 16, 0);
        p[off + 20] = TC_PEER_FLAG_KEYFRAME | TC_PEER_FLAG_FAULT;
        off += TC_PEER_VIDEO_MARK_LEN;
        off += 100; /* filler */
        if (nice_agent_send(s->agent, s->stream, 1, (guint)off, (const gchar *)p) >= 0)
            f->st.plain_rtp_sent++;
    }
    tc_info("peer %s: fault: %llu plain RTP packets sent before DTLS", s->name,
            (unsigned long long)f->st.plain_rtp_sent);
}

/* ---- what comes in ------------------------------------------------------------ */

void tc_faults_on_datagram(tc_msession *s, bool rtcp)
{
    (void)rtcp;
    tc_faults *f = s->faults;
    f->st.media_datagrams++;
    if (!s->srtp)
        f->st.media_before_srtp++;
    f->st.last_media_us = tc_peer_mono_us();
}

bool tc_faults_drop_video(tc_msession *s, const uint8_t *p, size_t len)
{
    tc_faults *f = s->faults;
    unsigned every = s->cfg.faults.video_loss_every;
    if (!every || len < 12 || (p[1] & 0x7f) != s->rx.video_pt || ++f->video_seen % every)
        return false;
    uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
    uint32_t media_ssrc =
        (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
    f->dropped[f->next_dropped++ % DROPPED_KEPT] = seq;
    f->st.video_dropped++;
    uint16_t seqs[2] = {seq, 0};
    size_t n = 1;
    if (f->st.video_dropped % STALE_NACK_EVERY == 0) {
        seqs[0] = (uint16_t)(seq - STALE_NACK_BACK);
        seqs[1] = seq;
        n = 2;
    }
    uint8_t pkt[TC_PEER_PKT_CAP];
    int w = tc_rtcp_write_nack(pkt, sizeof pkt, s->tx.video.ssrc, media_ssrc, seqs, n);
    if (w > 0) {
        tc_msession_send_rtcp(s, pkt, (size_t)w);
        f->st.nacks_sent++;
        f->st.stale_nacks_sent += n == 2;
    }
    return true;
}

void tc_faults_on_video_seq(tc_msession *s, uint16_t seq)
{
    tc_faults *f = s->faults;
    for (unsigned i = 0; i < DROPPED_KEPT; i++) {
        if (f->dropped[i] == (int32_t)seq) {
            f->dropped[i] = -1;
            f->st.video_recovered++;
            return;
        }
    }
}

void tc_faults_on_nack(tc_msession *s, uint16_t n_seqs)
{
    s->faults->st.nack_seqs_received += n_seqs;
}

void tc_faults_on_video_mark(tc_msession *s, const uint8_t *mark)
{
    if (mark[20] & TC_PEER_FLAG_FAULT)
        s->faults->st.fault_video_received++;
}

static void window_done(tc_faults *f)
{
    double energy = 0;
    for (size_t i = 0; i < TC_TONE_WIN; i++)
        energy += (double)f->win[i] * f->win[i];
    if (f->n_win >= TC_PEER_TONE_TIMELINE_MAX)
        return;
    float hz = 0;
    if (sqrt(energy / TC_TONE_WIN) >= 100.0) { /* tone.c's silence floor */
        for (size_t i = 0; i < TC_TONE_WIN; i++)
            f->win[i] *= f->hann[i];
        hz = (float)tc_tone_strongest_hz(f->win, TC_TONE_WIN);
    }
    f->win_us[f->n_win] = tc_peer_mono_us();
    f->win_hz[f->n_win++] = hz;
}

void tc_faults_on_pcm(tc_msession *s, const int16_t *pcm, size_t n)
{
    tc_faults *f = s->faults;
    if (!s->cfg.faults.tone_timeline)
        return;
    const unsigned decim = TC_TONE_RATE / TC_TONE_METER_RATE;
    for (size_t i = 0; i < n; i++) {
        f->decim_sum += pcm[i];
        if (++f->decim_n < decim)
            continue;
        f->win[f->fill++] = f->decim_sum / (float)decim;
        f->decim_sum = 0;
        f->decim_n = 0;
        if (f->fill == TC_TONE_WIN) {
            window_done(f);
            f->fill = 0;
        }
    }
}

/* ---- malformed RTCP --------------------------------------------------------------- */

/* One malformed compound of kind k at p (with room for the SRTCP trailer).
 * Every compound starts with a valid-looking first byte and an RTCP packet
 * type, so that the relay's demultiplexer takes it for RTCP, and carries our
 * SSRC at bytes 4..7, so that SRTCP protects it. */
static size_t bad_compound(const tc_msession *s, unsigned k, uint8_t *p)
{
    uint32_t ssrc = s->tx.video.ssrc;
    uint32_t media = s->rx.remote_video_ssrc;
    static const uint8_t rr[4] = {0x80, 201, 0, 1}; /* RR, no report blocks */
    switch (k) {
    case 0: /* version: a valid RR, then a PLI with version 1 */
        memcpy(p, rr, 4);
        put32(p + 4, ssrc);
        p[8] = 0x41; /* V=1, FMT=1 */
        p[9] = 206;
        p[10] = 0;
        p[11] = 2;
        put32(p + 12, ssrc);
        put32(p + 16, media);
        return 20;
    case 1: /* length: an RR whose length says 10 words; 2 are there */
        memcpy(p, rr, 4);
        p[3] = 10;
        put32(p + 4, ssrc);
        return 8;
    case 2: /* padding: an RR of 3 words with P set and a padding count of 0 */
        p[0] = 0xA0;
        p[1] = 201;
        p[2] = 0;
        p[3] = 2;
        put32(p + 4, ssrc);
        put32(p + 8, 0);
        return 12;
    default: /* fb_short: a valid RR, then a PLI of 1 word: no media SSRC */
        memcpy(p, rr, 4);
        put32(p + 4, ssrc);
        p[8] = 0x81;
        p[9] = 206;
        p[10] = 0;
        p[11] = 1;
        put32(p + 12, ssrc);
        return 16;
    }
}

static void send_burst(tc_msession *s, unsigned k)
{
    tc_faults *f = s->faults;
    unsigned n = s->cfg.faults.bad_rtcp_count;
    uint32_t sent = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t p[64 + TC_SRTP_MAX_TRAILER];
        size_t len = bad_compound(s, k, p);
        if (tc_srtp_protect_rtcp(s->srtp, p, &len, sizeof p) != 0)
            continue;
        if (nice_agent_send(s->agent, s->stream, 1, (guint)len, (const gchar *)p) >= 0)
            sent++;
    }
    if (f->st.n_bad_rtcp < TC_PEER_BAD_RTCP_KINDS) {
        tc_peer_bad_rtcp *b = &f->st.bad_rtcp[f->st.n_bad_rtcp++];
        snprintf(b->kind, sizeof b->kind, "%s", kind_names[k]);
        b->sent = sent;
        b->at_unix_ms = tc_peer_real_us() / 1000;
        b->at_call_ms = (tc_peer_mono_us() - f->call_us) / 1000;
    }
    tc_info("peer %s: fault: %u malformed SRTCP compounds (%s) sent", s->name, sent, kind_names[k]);
}

void tc_faults_tick(tc_msession *s, int64_t now_us)
{
    tc_faults *f = s->faults;
    if (!f->call_us) {
        if (!s->rx.analyzing)
            return;
        f->call_us = now_us;
        f->next_burst_us = now_us + (int64_t)s->cfg.faults.bad_rtcp_at_ms * 1000;
    }
    if (!s->cfg.faults.bad_rtcp_count || f->next_kind >= BAD_RTCP_KINDS ||
        now_us < f->next_burst_us)
        return;
    send_burst(s, f->next_kind++);
    unsigned gap = s->cfg.faults.bad_rtcp_gap_ms ? s->cfg.faults.bad_rtcp_gap_ms : DEFAULT_GAP_MS;
    f->next_burst_us = now_us + (int64_t)gap * 1000;
}

/* ---- results ------------------------------------------------------------------- */

void tc_faults_stats(const tc_msession *s, tc_peer_media_stats *out)
{
    const tc_faults *f = s->faults;
    out->faults = f->st;
    out->faults.call_started = f->call_us != 0;
    unsigned n = f->n_win;
    out->faults.n_tone = n;
    for (unsigned i = 0; i < n; i++) {
        out->faults.tone_ms[i] = f->call_us ? (int32_t)((f->win_us[i] - f->call_us) / 1000) : 0;
        out->faults.tone_hz[i] = f->win_hz[i];
    }
}

static json_t *bad_rtcp_json(const tc_peer_fault_stats *st)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < st->n_bad_rtcp; i++) {
        const tc_peer_bad_rtcp *b = &st->bad_rtcp[i];
        json_array_append_new(a, json_pack("{s:s, s:i, s:I, s:I}", "kind", b->kind, "sent",
                                           (int)b->sent, "at_unix_ms", (json_int_t)b->at_unix_ms,
                                           "at_call_ms", (json_int_t)b->at_call_ms));
    }
    return a;
}

/* [[ms from the call's start, Hz], ...]; Hz 0 for a silent window. */
static json_t *timeline_json(const tc_peer_fault_stats *st)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < st->n_tone; i++)
        json_array_append_new(
            a, json_pack("[i, f]", (int)st->tone_ms[i], round((double)st->tone_hz[i] * 10) / 10));
    return a;
}

json_t *tc_faults_json(const tc_peer_results *r)
{
    const tc_peer_fault_result *fr = &r->fault;
    if (!fr->enabled)
        return NULL;
    const tc_peer_fault_stats *st = &r->media.faults;
    json_t *o = json_object();
    json_object_set_new(o, "plain_rtp_sent", json_integer((json_int_t)st->plain_rtp_sent));
    json_object_set_new(o, "fault_video_received",
                        json_integer((json_int_t)st->fault_video_received));
    json_object_set_new(o, "media_datagrams", json_integer((json_int_t)st->media_datagrams));
    json_object_set_new(o, "media_before_srtp", json_integer((json_int_t)st->media_before_srtp));
    json_object_set_new(o, "bad_rtcp", bad_rtcp_json(st));
    json_object_set_new(o, "nack",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "video_dropped",
                                  (json_int_t)st->video_dropped, "nacks_sent",
                                  (json_int_t)st->nacks_sent, "stale_nacks_sent",
                                  (json_int_t)st->stale_nacks_sent, "video_recovered",
                                  (json_int_t)st->video_recovered, "seqs_received_as_sender",
                                  (json_int_t)st->nack_seqs_received));
    json_object_set_new(o, "media_failed", json_boolean(fr->media_failed));
    json_object_set_new(o, "media_error", json_string(fr->media_error));
    json_object_set_new(o, "lingered", json_boolean(fr->lingered));
    json_object_set_new(
        o, "after_end",
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "audio_received", (json_int_t)fr->audio_after_end,
                  "video_received", (json_int_t)fr->video_after_end, "rtcp_received",
                  (json_int_t)fr->rtcp_after_end, "datagrams", (json_int_t)fr->datagrams_after_end,
                  "last_datagram_ms", (json_int_t)fr->last_datagram_after_end_ms));
    if (st->n_tone)
        json_object_set_new(o, "tone_timeline", timeline_json(st));
    return o;
}
