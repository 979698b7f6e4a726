/*
 * sdp: the WebRTC subset of SDP (RFC 8866, JSEP RFC 8829) as Chromium,
 * Firefox and Safari offer it, and the answer the relay gives. Parse an offer
 * into a bounded tc_sdp, check it has what the relay needs (BUNDLE,
 * rtcp-mux, a sha-256 fingerprint, ICE credentials), pick one codec per
 * m-line from the server's preference list, optionally constrained to the
 * codec the other leg already uses, and write the answer.
 *
 * Any thread: pure functions, no allocation. The caller owns every buffer.
 * A tc_sdp is large (about 250 KiB: every field is a fixed array), so keep
 * it on the heap or in a long-lived struct, not on a small stack.
 *
 * What is kept, per level (anything else is skipped):
 *
 *   level   | lines
 *   --------+------------------------------------------------------------
 *   session | v=0 first; a=group:BUNDLE, a=ice-ufrag, a=ice-pwd,
 *           | a=ice-options, a=fingerprint, a=setup, a=extmap-allow-mixed
 *   media   | m= kind port proto formats; a=mid, a=rtpmap, a=fmtp
 *           | (profile-level-id, packetization-mode, apt), a=rtcp-fb,
 *           | a=extmap, a=ssrc (cname, msid), a=ssrc-group:FID, a=msid,
 *           | a=rtcp-mux, a=rtcp-rsize, a=sendrecv/sendonly/recvonly/
 *           | inactive, a=candidate, a=end-of-candidates, a=bundle-only,
 *           | and the session lines ice-ufrag/pwd/options, fingerprint,
 *           | setup
 *
 * Bundle-only (RFC 8843 section 6): an m-line with port 0 and a=bundle-only
 * whose mid is in the BUNDLE group is not rejected; it shares the group's
 * transport (Firefox with max-bundle offers every m-line but the first so,
 * GStreamer's webrtcbin the first one too). Such an m-line may leave out the
 * ICE and DTLS lines (JSEP RFC 8829 5.2.1): the parser fills them in from
 * the m-line that carries the group's transport (tc_sdp_transport_media).
 *
 * Limits (-E2BIG past them): the text TC_SDP_MAX_LEN, m-lines, candidates,
 * payload types, extmaps, SSRCs, rtcp-fb per codec, and every token's
 * length (each char array below is its token's limit plus the NUL).
 * Malformed lines, NUL or control bytes, or a first line other than v=0 are
 * -EINVAL. Unknown attributes and rtpmap/fmtp for payload types not on the
 * m-line are ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC_SDP_MAX_LEN 65536
#define TC_SDP_MAX_MEDIA 8
#define TC_SDP_MAX_CANDIDATES 32
/* Chromium 156 offers 34 video payload types (VP8, VP9 x4, H.264 x12, AV1, H.265,
 * their RTX, red, ulpfec); dynamic types span 35-63 and 96-127. */
#define TC_SDP_MAX_CODECS 64
#define TC_SDP_MAX_EXTMAPS 16
#define TC_SDP_MAX_SSRCS 8
#define TC_SDP_MAX_RTCP_FB 8 /* per codec, and for "*" per m-line */

#define TC_SDP_ID_LEN 64   /* mid, ufrag, cname, foundation, codec name... */
#define TC_SDP_ICE_LEN 256 /* ice-ufrag and ice-pwd (RFC 8839: up to 256) */
#define TC_SDP_FMTP_LEN 256
#define TC_SDP_URI_LEN 128
#define TC_SDP_FB_LEN 32
#define TC_SDP_ADDR_LEN 64 /* IPv6 text or an mDNS name */
#define TC_SDP_FP_MAX 64   /* sha-512 */

typedef enum { TC_SDP_AUDIO, TC_SDP_VIDEO, TC_SDP_APPLICATION, TC_SDP_OTHER } tc_sdp_kind;
typedef enum { TC_SDP_SENDRECV, TC_SDP_SENDONLY, TC_SDP_RECVONLY, TC_SDP_INACTIVE } tc_sdp_dir;
typedef enum {
    TC_SDP_SETUP_NONE,
    TC_SDP_SETUP_ACTPASS,
    TC_SDP_SETUP_ACTIVE,
    TC_SDP_SETUP_PASSIVE,
    TC_SDP_SETUP_HOLDCONN
} tc_sdp_setup;
typedef enum { TC_SDP_UDP, TC_SDP_TCP } tc_sdp_transport;
typedef enum { TC_SDP_HOST, TC_SDP_SRFLX, TC_SDP_PRFLX, TC_SDP_RELAY } tc_sdp_cand_type;
typedef enum {
    TC_SDP_TCP_NONE,
    TC_SDP_TCP_ACTIVE,
    TC_SDP_TCP_PASSIVE,
    TC_SDP_TCP_SO
} tc_sdp_tcptype;

typedef struct {
    char foundation[33]; /* RFC 8839: 1..32 ice-chars */
    uint16_t component;
    tc_sdp_transport transport;
    uint32_t priority;
    char address[TC_SDP_ADDR_LEN + 1];
    uint16_t port;
    tc_sdp_cand_type type;
    bool has_raddr;
    char raddr[TC_SDP_ADDR_LEN + 1];
    uint16_t rport;
    tc_sdp_tcptype tcptype;
    bool mdns; /* address is a ".local" name: the relay cannot resolve it */
} tc_sdp_candidate;

typedef struct {
    bool present;
    char algo[16]; /* lower case: "sha-256", "sha-1", ... */
    uint8_t len;   /* bytes in hash */
    uint8_t hash[TC_SDP_FP_MAX];
} tc_sdp_fingerprint;

typedef struct {
    uint8_t pt;
    bool has_rtpmap;
    char name[TC_SDP_ID_LEN + 1]; /* as offered: "opus", "VP8", "H264", "rtx" */
    uint32_t clock_rate;
    uint8_t channels; /* 0 when not given */
    char fmtp[TC_SDP_FMTP_LEN + 1];
    int apt;                /* rtx: associated payload type, or -1 */
    int packetization_mode; /* H264: -1 when absent (means 0) */
    bool has_profile_level_id;
    uint32_t profile_level_id; /* H264: e.g. 0x42e01f */
    uint8_t n_fb;
    char fb[TC_SDP_MAX_RTCP_FB][TC_SDP_FB_LEN + 1]; /* "nack pli", "ccm fir" */
} tc_sdp_codec;

typedef struct {
    uint8_t id;
    tc_sdp_dir dir; /* the optional /direction, else sendrecv */
    char uri[TC_SDP_URI_LEN + 1];
} tc_sdp_extmap;

typedef struct {
    uint32_t ssrc;
    char cname[TC_SDP_ID_LEN + 1];
    char msid[2 * TC_SDP_ID_LEN + 2]; /* "stream track" */
} tc_sdp_ssrc;

typedef struct {
    tc_sdp_kind kind;
    char kind_name[17]; /* as written */
    uint16_t port;      /* 0: rejected by the offerer, unless bundle_only */
    bool bundle_only;   /* a=bundle-only */
    char proto[TC_SDP_ID_LEN + 1];
    char format[TC_SDP_ID_LEN + 1]; /* application: the first format token */
    char mid[TC_SDP_ID_LEN + 1];
    uint8_t n_codecs; /* in m-line order */
    tc_sdp_codec codecs[TC_SDP_MAX_CODECS];
    uint8_t n_fb_any; /* a=rtcp-fb:* */
    char fb_any[TC_SDP_MAX_RTCP_FB][TC_SDP_FB_LEN + 1];
    uint8_t n_extmaps;
    tc_sdp_extmap extmaps[TC_SDP_MAX_EXTMAPS];
    uint8_t n_ssrcs;
    tc_sdp_ssrc ssrcs[TC_SDP_MAX_SSRCS];
    bool has_fid;
    uint32_t fid[2]; /* a=ssrc-group:FID primary rtx */
    char msid[2 * TC_SDP_ID_LEN + 2];
    bool rtcp_mux;
    bool rtcp_rsize;
    tc_sdp_dir dir;
    /* effective values: the media line's own, else the session's */
    char ice_ufrag[TC_SDP_ICE_LEN + 1];
    char ice_pwd[TC_SDP_ICE_LEN + 1];
    bool ice_trickle;
    tc_sdp_fingerprint fingerprint;
    tc_sdp_setup setup;
    uint8_t n_candidates;
    tc_sdp_candidate candidates[TC_SDP_MAX_CANDIDATES];
    bool end_of_candidates;
} tc_sdp_media;

typedef struct {
    char ice_ufrag[TC_SDP_ICE_LEN + 1];
    char ice_pwd[TC_SDP_ICE_LEN + 1];
    bool ice_trickle;
    tc_sdp_fingerprint fingerprint;
    tc_sdp_setup setup;
    bool extmap_allow_mixed;
    bool has_bundle;
    uint8_t n_bundle;
    char bundle[TC_SDP_MAX_MEDIA][TC_SDP_ID_LEN + 1]; /* the first BUNDLE group */
    uint8_t n_media;
    tc_sdp_media media[TC_SDP_MAX_MEDIA];
} tc_sdp;

/* Parses SDP text (not NUL-terminated; len bytes). Returns 0, -EINVAL,
 * -E2BIG as described above. On error *out is unspecified. */
int tc_sdp_parse(const char *s, size_t len, tc_sdp *out);

/* Parses one candidate: "candidate:..." with or without a leading "a=", as
 * in SDP or as trickled. Extension attributes (generation, ufrag,
 * network-id, ...) are skipped. Returns 0, -EINVAL, -E2BIG (a token too
 * long), -ENOTSUP (a transport other than udp/tcp). */
int tc_sdp_parse_candidate(const char *s, size_t len, tc_sdp_candidate *out);

/* Writes one candidate as "candidate:..." (no "a=", no line end), NUL-
 * terminated, with raddr/rport and, for TCP, tcptype. Returns the length,
 * -ENOSPC, or -EINVAL for a TCP candidate without a tcptype (RFC 6544: it
 * cannot be used) or a token that would break the line. */
int tc_sdp_write_candidate(const tc_sdp_candidate *c, char *buf, size_t cap);

/* Whether m-line i takes part in the session: a port other than 0, or port
 * 0 with a=bundle-only and its mid in the BUNDLE group. */
bool tc_sdp_media_live(const tc_sdp *sdp, unsigned i);

/* The m-line whose ICE credentials, fingerprint and candidates the BUNDLE
 * transport uses: the first live m-line, in the group's order, that has ICE
 * credentials; failing that the first live m-line with them. -1 if none. */
int tc_sdp_transport_media(const tc_sdp *sdp);

/* Whether the offer has what the relay requires: at least one live m-line,
 * every live m-line with its own mid and in the BUNDLE group, rtcp-mux on every audio and
 * video m-line, a sha-256 fingerprint and ICE ufrag and pwd (session or
 * media level). Returns 0, or -EINVAL and a one-line reason in why. */
int tc_sdp_check_webrtc(const tc_sdp *offer, char *why, size_t why_len);

/* ---- codec choice and answer ------------------------------------------- */

typedef struct {
    char name[TC_SDP_ID_LEN + 1];
    uint32_t clock_rate;
} tc_sdp_codec_ref;

typedef struct {
    const char *audio; /* ordered, comma-separated: "opus" */
    const char *video; /* "VP8,H264" */
    /* the codec the other leg already uses, or NULL: only a codec with this
     * name (case-insensitive) and clock rate may be chosen */
    const tc_sdp_codec_ref *audio_constraint;
    const tc_sdp_codec_ref *video_constraint;
    /* header extensions to keep, by URI; NULL keeps tc_sdp_default_extmaps */
    const char *const *extmaps;
    size_t n_extmaps;
} tc_sdp_prefs;

/* ssrc-audio-level, sdes:mid, abs-send-time; n set to the count. */
const char *const *tc_sdp_default_extmaps(size_t *n);

typedef struct {
    bool accepted; /* false: answered with port 0 (data channel, rejected) */
    bool no_codec; /* a live audio or video m-line without a codec in common */
    int codec;     /* index into the offer's codecs, or -1 */
    int rtx;       /* index of its rtx partner, or -1 */
    tc_sdp_codec_ref ref;
    uint8_t pt;
    uint8_t rtx_pt;
} tc_sdp_choice;

/* Chooses per m-line. Audio and video m-lines get the first preferred codec
 * the offer has (H264: packetization-mode=1 first, then profile 42e01f),
 * with its rtx; m-lines the offerer rejected, m-lines without a mid, and
 * application m-lines are not accepted. A live audio or video m-line with no
 * acceptable codec is not accepted either (no_codec: answered with port 0,
 * the rest of the offer stands). Returns 0, or -EINVAL with a reason in why
 * if no m-line at all is accepted. */
int tc_sdp_select(const tc_sdp *offer, const tc_sdp_prefs *prefs,
                  tc_sdp_choice choices[TC_SDP_MAX_MEDIA], char *why, size_t why_len);

/* Whether the answer keeps extmap e of m-line m: m-line m is accepted, the
 * URI is in prefs' list (NULL prefs, or a NULL list: tc_sdp_default_extmaps),
 * and no earlier extmap of an accepted m-line gives the same id to another
 * URI (RFC 8843 9.2: within a BUNDLE group an id names one extension; the
 * first use wins, conflicting ones are left out of the answer, so the peer
 * never sends them and the relay never maps them). */
bool tc_sdp_extmap_kept(const tc_sdp *offer, const tc_sdp_choice choices[TC_SDP_MAX_MEDIA],
                        const tc_sdp_prefs *prefs, unsigned m, unsigned e);

/* What the relay says about itself in the answer. */
typedef struct {
    const char *ice_ufrag;
    const char *ice_pwd;
    uint8_t fingerprint_sha256[32];
    uint64_t session_id;
    uint64_t session_version; /* o= line; 0 writes 2. JSEP 5.3.2: an answer to a
                                 re-offer keeps the id and adds one to this */
    const char *cname;
    const char *msid_stream;             /* track ids are "<stream>-<mid>" */
    uint32_t ssrc[TC_SDP_MAX_MEDIA];     /* what we send on m-line i */
    uint32_t rtx_ssrc[TC_SDP_MAX_MEDIA]; /* 0: no rtx stream */
    const tc_sdp_candidate *candidates;  /* optional; trickle otherwise */
    size_t n_candidates;
    bool end_of_candidates;
} tc_sdp_local;

/* Writes the answer for offer with choices into buf, NUL-terminated, CRLF
 * lines. Returns its length without the NUL, -ENOSPC if cap is too small,
 * -EINVAL if local lacks ICE credentials or a token would break a line. */
int tc_sdp_write_answer(const tc_sdp *offer, const tc_sdp_choice choices[TC_SDP_MAX_MEDIA],
                        const tc_sdp_prefs *prefs, const tc_sdp_local *local, char *buf,
                        size_t cap);

/* Whether the relay may send STUN to a remote candidate: an IP literal (no zone,
 * no name), a non-zero port, and not an unspecified, broadcast or multicast
 * address; loopback and link-local only if allow_local (tests). A customer must
 * not point the relay at addresses it has no business reaching (issue 12;
 * coturn denies such peers since CVE-2020-26262). */
bool tc_sdp_candidate_reachable(const tc_sdp_candidate *c, bool allow_local);
