/* sdp_write: the relay's answer; see sdp.h. Everything echoed from the offer
 * went through the parser's token checks (no control bytes, so no line can
 * be broken or injected); what the caller gives is checked here. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "media/sdp_internal.h"

/* A bounded text builder with a sticky error (SQLite's StrAccum idea): the
 * first failure sticks and later appends do nothing. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int err;
} out_buf;

__attribute__((format(printf, 2, 3))) static void put(out_buf *o, const char *fmt, ...)
{
    if (o->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->err = -ENOSPC;
        return;
    }
    o->len += (size_t)n;
}

/* The rtcp-fb types the relay honours: it answers NACK from its rtx buffer,
 * forwards PLI/FIR and REMB. transport-cc is left out: the relay does not
 * rewrite transport-wide sequence numbers, so the feedback would be wrong. */
static bool fb_supported(const char *fb)
{
    static const char *const ok[] = {"nack", "nack pli", "ccm fir", "goog-remb"};
    for (unsigned i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(fb, ok[i]) == 0)
            return true;
    return false;
}

static tc_sdp_dir answer_dir(tc_sdp_dir offered)
{
    switch (offered) {
    case TC_SDP_SENDONLY:
        return TC_SDP_RECVONLY;
    case TC_SDP_RECVONLY:
        return TC_SDP_SENDONLY;
    case TC_SDP_INACTIVE:
        return TC_SDP_INACTIVE;
    case TC_SDP_SENDRECV:
        break;
    }
    return TC_SDP_SENDRECV;
}

static const char *dir_name(tc_sdp_dir d)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    return names[d];
}

static void put_session(out_buf *o, const tc_sdp *offer, const tc_sdp_choice *ch,
                        const tc_sdp_local *local)
{
    put(o, "v=0\r\no=- %" PRIu64 " %" PRIu64 " IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        local->session_id, local->session_version ? local->session_version : 2);
    bool any = false;
    for (unsigned i = 0; i < offer->n_media; i++) {
        if (!ch[i].accepted)
            continue;
        put(o, "%s %s", any ? "" : "a=group:BUNDLE", offer->media[i].mid);
        any = true;
    }
    put(o, "%sa=msid-semantic: WMS %s\r\n", any ? "\r\n" : "", local->msid_stream);
}

/* "candidate:..." without "a=" or a line end. */
static void put_candidate_text(out_buf *o, const tc_sdp_candidate *c)
{
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    static const char *const tcptypes[] = {"", "active", "passive", "so"};
    put(o, "candidate:%s %u %s %" PRIu32 " %s %u typ %s", c->foundation, c->component,
        c->transport == TC_SDP_TCP ? "tcp" : "udp", c->priority, c->address, c->port,
        types[c->type]);
    if (c->has_raddr)
        put(o, " raddr %s rport %u", c->raddr, c->rport);
    if (c->transport == TC_SDP_TCP && c->tcptype != TC_SDP_TCP_NONE)
        put(o, " tcptype %s", tcptypes[c->tcptype]);
}

static void put_candidate(out_buf *o, const tc_sdp_candidate *c)
{
    put(o, "a=");
    put_candidate_text(o, c);
    put(o, "\r\n");
}

static void put_transport(out_buf *o, const tc_sdp_local *local, bool with_candidates)
{
    if (with_candidates) {
        for (size_t i = 0; i < local->n_candidates; i++)
            put_candidate(o, &local->candidates[i]);
        if (local->end_of_candidates)
            put(o, "a=end-of-candidates\r\n");
    }
    put(o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", local->ice_ufrag,
        local->ice_pwd);
    put(o, "a=fingerprint:sha-256 ");
    for (unsigned i = 0; i < 32; i++)
        put(o, i ? ":%02X" : "%02X", local->fingerprint_sha256[i]);
    put(o, "\r\na=setup:passive\r\n");
}

static void put_codec(out_buf *o, const tc_sdp_media *m, const tc_sdp_codec *c)
{
    put(o, "a=rtpmap:%u %s/%" PRIu32, c->pt, c->name, c->clock_rate);
    if (c->channels > 0)
        put(o, "/%u", c->channels);
    put(o, "\r\n");
    for (unsigned i = 0; i < c->n_fb; i++)
        if (fb_supported(c->fb[i]))
            put(o, "a=rtcp-fb:%u %s\r\n", c->pt, c->fb[i]);
    for (unsigned i = 0; i < m->n_fb_any; i++)
        if (fb_supported(m->fb_any[i]))
            put(o, "a=rtcp-fb:%u %s\r\n", c->pt, m->fb_any[i]);
    if (c->fmtp[0] != '\0')
        put(o, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
}

static void put_ssrc(out_buf *o, uint32_t ssrc, const tc_sdp_local *local, const char *mid)
{
    put(o, "a=ssrc:%" PRIu32 " cname:%s\r\n", ssrc, local->cname);
    put(o, "a=ssrc:%" PRIu32 " msid:%s %s-%s\r\n", ssrc, local->msid_stream, local->msid_stream,
        mid);
}

static void put_sending(out_buf *o, unsigned i, const tc_sdp_media *m, const tc_sdp_choice *ch,
                        const tc_sdp_local *local)
{
    uint32_t rtx = ch->rtx >= 0 ? local->rtx_ssrc[i] : 0;
    if (local->ssrc[i] == 0)
        return;
    put(o, "a=msid:%s %s-%s\r\n", local->msid_stream, local->msid_stream, m->mid);
    if (rtx)
        put(o, "a=ssrc-group:FID %" PRIu32 " %" PRIu32 "\r\n", local->ssrc[i], rtx);
    put_ssrc(o, local->ssrc[i], local, m->mid);
    if (rtx)
        put_ssrc(o, rtx, local, m->mid);
}

static void put_media(out_buf *o, const tc_sdp *offer, const tc_sdp_choice *choices, unsigned i,
                      const tc_sdp_prefs *prefs, const tc_sdp_local *local, bool first)
{
    const tc_sdp_choice *ch = &choices[i];
    const tc_sdp_media *m = &offer->media[i];
    const tc_sdp_codec *c = &m->codecs[ch->codec];
    put(o, "m=%s 9 %s %u", m->kind_name, m->proto, ch->pt);
    if (ch->rtx >= 0)
        put(o, " %u", ch->rtx_pt);
    put(o, "\r\nc=IN IP4 0.0.0.0\r\n");
    put_transport(o, local, first);
    put(o, "a=mid:%s\r\n", m->mid);
    for (unsigned e = 0; e < m->n_extmaps; e++)
        if (tc_sdp_extmap_kept(offer, choices, prefs, i, e))
            put(o, "a=extmap:%u %s\r\n", m->extmaps[e].id, m->extmaps[e].uri);
    tc_sdp_dir dir = answer_dir(m->dir);
    put(o, "a=%s\r\na=rtcp-mux\r\n", dir_name(dir));
    if (m->rtcp_rsize)
        put(o, "a=rtcp-rsize\r\n");
    put_codec(o, m, c);
    if (ch->rtx >= 0)
        put(o, "a=rtpmap:%u rtx/%" PRIu32 "\r\na=fmtp:%u apt=%u\r\n", ch->rtx_pt, c->clock_rate,
            ch->rtx_pt, ch->pt);
    if (dir == TC_SDP_SENDRECV || dir == TC_SDP_SENDONLY)
        put_sending(o, i, m, ch, local);
}

/* An m-line we do not take: port 0 and its mid. RFC 8829 5.3.1 lets a
 * rejected m-section carry no transport, but GStreamer's webrtcbin refuses an
 * answer with any m-section short of a fingerprint, setup or ICE credentials
 * ("No fingerprint lines in sdp for media 1"), so they are written here too:
 * on a port-0 m-section they are legal and ignored. */
static void put_rejected(out_buf *o, const tc_sdp_media *m, const tc_sdp_local *local)
{
    const char *fmt = m->format;
    char pt[4];
    if (m->n_codecs > 0) {
        snprintf(pt, sizeof pt, "%u", m->codecs[0].pt);
        fmt = pt;
    }
    put(o, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->kind_name, m->proto, fmt);
    put_transport(o, local, false);
    if (m->mid[0] != '\0')
        put(o, "a=mid:%s\r\n", m->mid);
    put(o, "a=inactive\r\n");
}

static bool safe_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7F)
            return false;
    return true;
}

static bool candidate_ok(const tc_sdp_candidate *c)
{
    return safe_token(c->foundation) && safe_token(c->address) &&
           (!c->has_raddr || safe_token(c->raddr)) && c->type <= TC_SDP_RELAY &&
           c->transport <= TC_SDP_TCP && c->tcptype <= TC_SDP_TCP_SO;
}

static int check_local(const tc_sdp_local *l)
{
    if (!safe_token(l->ice_ufrag) || !safe_token(l->ice_pwd) || !safe_token(l->cname) ||
        !safe_token(l->msid_stream))
        return -EINVAL;
    for (size_t i = 0; i < l->n_candidates; i++)
        if (!candidate_ok(&l->candidates[i]))
            return -EINVAL;
    return 0;
}

int tc_sdp_write_answer(const tc_sdp *offer, const tc_sdp_choice choices[TC_SDP_MAX_MEDIA],
                        const tc_sdp_prefs *prefs, const tc_sdp_local *local, char *buf, size_t cap)
{
    if (check_local(local) < 0)
        return -EINVAL;
    if (cap == 0)
        return -ENOSPC;
    out_buf o = {buf, cap, 0, 0};
    buf[0] = '\0';
    put_session(&o, offer, choices, local);
    bool first = true;
    for (unsigned i = 0; i < offer->n_media && i < TC_SDP_MAX_MEDIA; i++) {
        const tc_sdp_choice *ch = &choices[i];
        if (ch->accepted && ch->codec >= 0 && ch->codec < offer->media[i].n_codecs) {
            put_media(&o, offer, choices, i, prefs, local, first);
            first = false;
        } else {
            put_rejected(&o, &offer->media[i], local);
        }
    }
    return o.err ? o.err : (int)o.len;
}

int tc_sdp_write_candidate(const tc_sdp_candidate *c, char *buf, size_t cap)
{
    /* ICE-TCP needs the connection role (RFC 6544 4.5): without it no TCP
     * candidate can be used, and libnice's parser complains loudly */
    if (!candidate_ok(c) || (c->transport == TC_SDP_TCP && c->tcptype == TC_SDP_TCP_NONE))
        return -EINVAL;
    if (cap == 0)
        return -ENOSPC;
    out_buf o = {buf, cap, 0, 0};
    buf[0] = '\0';
    put_candidate_text(&o, c);
    return o.err ? o.err : (int)o.len;
}
