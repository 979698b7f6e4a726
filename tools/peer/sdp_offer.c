/*
 * sdp_offer.c: the offer a browser would make with one microphone and one
 * camera: BUNDLE of an Opus audio m-line and a VP8 (+ rtx) video m-line
 * (H.264 instead with the session's video_codec "H264"),
 * rtcp-mux, trickle ICE, a=setup:actpass, our certificate's sha-256
 * fingerprint, and a=ssrc lines for what we send.
 */
#include "msession_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

typedef struct {
    char *buf;
    size_t cap, len;
    int err;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    if (t->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len)
        t->err = -ENOSPC;
    else
        t->len += (size_t)n;
}

static void put_transport(text *t, const tc_msession *s, const char *ufrag, const char *pwd)
{
    put(t, "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
    put(t, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", ufrag, pwd);
    const uint8_t *fp = tc_dtls_ctx_fingerprint(s->dtls_ctx);
    put(t, "a=fingerprint:sha-256 ");
    for (int i = 0; i < 32; i++)
        put(t, "%02X%s", fp[i], i < 31 ? ":" : "\r\n");
    put(t, "a=setup:actpass\r\n");
}

static void put_ssrc(text *t, uint32_t ssrc, const char *track)
{
    put(t, "a=ssrc:%" PRIu32 " cname:tcpeer\r\n", ssrc);
    put(t, "a=ssrc:%" PRIu32 " msid:tcpeer %s\r\n", ssrc, track);
}

static void put_audio(text *t, const tc_msession *s, const char *ufrag, const char *pwd)
{
    put(t, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
    put_transport(t, s, ufrag, pwd);
    put(t, "a=mid:%s\r\n", s->tx.audio.mid);
    put(t, "a=extmap:4 %s\r\n", TC_PEER_MID_EXT_URI);
    put(t, "a=sendrecv\r\na=msid:tcpeer audio0\r\na=rtcp-mux\r\n");
    put(t, "a=rtpmap:111 opus/48000/2\r\n");
    put(t, "a=fmtp:111 minptime=10;useinbandfec=1\r\n");
    put_ssrc(t, s->tx.audio.ssrc, "audio0");
}

static void put_video(text *t, const tc_msession *s, const char *ufrag, const char *pwd)
{
    put(t, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n");
    put_transport(t, s, ufrag, pwd);
    put(t, "a=mid:%s\r\n", s->tx.video.mid);
    put(t, "a=extmap:4 %s\r\n", TC_PEER_MID_EXT_URI);
    put(t, "a=sendrecv\r\na=msid:tcpeer video0\r\na=rtcp-mux\r\na=rtcp-rsize\r\n");
    if (s->cfg.video_codec && g_ascii_strcasecmp(s->cfg.video_codec, "H264") == 0) {
        /* as an iPhone may offer: H.264 only (the payload stays VP8-shaped) */
        put(t, "a=rtpmap:96 H264/90000\r\n");
        put(t, "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;"
               "profile-level-id=42e01f\r\n");
    } else {
        put(t, "a=rtpmap:96 VP8/90000\r\n");
    }
    put(t, "a=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 ccm fir\r\n");
    put(t, "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n");
    put(t, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
    put(t, "a=ssrc-group:FID %" PRIu32 " %" PRIu32 "\r\n", s->tx.video.ssrc, s->tx.rtx_ssrc);
    put_ssrc(t, s->tx.video.ssrc, "video0");
    put_ssrc(t, s->tx.rtx_ssrc, "video0");
}

int tc_peer_write_offer(const tc_msession *s, const char *ufrag, const char *pwd, char *buf,
                        size_t cap)
{
    if (cap == 0)
        return -ENOSPC;
    text t = {buf, cap, 0, 0};
    buf[0] = '\0';
    uint64_t sess = ((uint64_t)s->tx.audio.ssrc << 31) ^ s->tx.video.ssrc;
    put(&t, "v=0\r\no=- %" PRIu64 " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", sess >> 1);
    put(&t, "a=group:BUNDLE %s %s\r\n", s->tx.audio.mid, s->tx.video.mid);
    put(&t, "a=extmap-allow-mixed\r\na=msid-semantic: WMS tcpeer\r\n");
    put_audio(&t, s, ufrag, pwd);
    put_video(&t, s, ufrag, pwd);
    return t.err ? t.err : (int)t.len;
}
