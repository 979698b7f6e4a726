/* Unit tests for sdp: the three browser fixtures field by field, answers for
 * each, codec preference and constraint, rejection reasons, every limit,
 * malformed and truncated input, and the stand-alone candidate parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "telecounter/sdp.h"

static tc_sdp sdp, again;
static char text[2 * TC_SDP_MAX_LEN];
static size_t text_len;
static char answer[TC_SDP_MAX_LEN];
static char why[160];

static void load(const char *name)
{
    const char *dir = getenv("TC_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/sdp/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    text_len = fread(text, 1, sizeof text - 1, f);
    text[text_len] = '\0';
    fclose(f);
}

/* Drops every line of text that starts with prefix. */
static void drop_lines(const char *prefix)
{
    char *out = text, *line = text;
    size_t n = strlen(prefix);
    while (*line) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        if (strncmp(line, prefix, n) != 0) {
            memmove(out, line, len);
            out += len;
        }
        line += len;
    }
    *out = '\0';
    text_len = (size_t)(out - text);
}

static void append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void append(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text + text_len, sizeof text - text_len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof text - text_len);
    text_len += (size_t)n;
}

static int parse_text(void)
{
    return tc_sdp_parse(text, text_len, &sdp);
}

static const tc_sdp_codec *codec(const tc_sdp_media *m, unsigned pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    fail_msg("no pt %u", pt);
    return NULL;
}

static tc_sdp_local local_for_tests(void)
{
    tc_sdp_local l = {.ice_ufrag = "tcUf",
                      .ice_pwd = "abcdefghijklmnopqrstuvwx",
                      .session_id = 7,
                      .cname = "relay",
                      .msid_stream = "tc"};
    for (unsigned i = 0; i < 32; i++)
        l.fingerprint_sha256[i] = (uint8_t)i;
    for (unsigned i = 0; i < TC_SDP_MAX_MEDIA; i++) {
        l.ssrc[i] = 1000 + i;
        l.rtx_ssrc[i] = 2000 + i;
    }
    return l;
}

/* Selects with prefs, writes the answer, parses it back into again. */
static int answer_with(const tc_sdp_prefs *prefs, tc_sdp_choice *ch)
{
    tc_sdp_local l = local_for_tests();
    int rc = tc_sdp_select(&sdp, prefs, ch, why, sizeof why);
    if (rc < 0)
        return rc;
    int n = tc_sdp_write_answer(&sdp, ch, prefs, &l, answer, sizeof answer);
    assert_true(n > 0);
    assert_int_equal(tc_sdp_parse(answer, (size_t)n, &again), 0);
    assert_int_equal(again.n_media, sdp.n_media);
    return 0;
}

static void test_chromium_fields(void **state)
{
    (void)state;
    load("chromium156_offer.sdp");
    assert_int_equal(parse_text(), 0);
    assert_true(sdp.has_bundle);
    assert_int_equal(sdp.n_bundle, 2);
    assert_string_equal(sdp.bundle[1], "1");
    assert_true(sdp.extmap_allow_mixed);
    assert_int_equal(sdp.n_media, 2);
    const tc_sdp_media *a = &sdp.media[0];
    assert_int_equal(a->kind, TC_SDP_AUDIO);
    assert_int_equal(a->port, 45435);
    assert_string_equal(a->proto, "UDP/TLS/RTP/SAVPF");
    assert_string_equal(a->mid, "0");
    assert_int_equal(a->n_codecs, 8);
    const tc_sdp_codec *opus = codec(a, 111);
    assert_string_equal(opus->name, "opus");
    assert_int_equal(opus->clock_rate, 48000);
    assert_int_equal(opus->channels, 2);
    assert_string_equal(opus->fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(opus->n_fb, 1);
    assert_string_equal(opus->fb[0], "transport-cc");
    assert_int_equal(a->n_extmaps, 4);
    assert_int_equal(a->extmaps[3].id, 4);
    assert_string_equal(a->extmaps[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
    assert_int_equal(a->n_ssrcs, 1);
    assert_int_equal(a->ssrcs[0].ssrc, 1169929202u);
    assert_string_equal(a->ssrcs[0].cname, "0MHX1KR4Oo3kPG8c");
    assert_true(strchr(a->ssrcs[0].msid, ' ') != NULL);
    assert_true(a->rtcp_mux && a->rtcp_rsize);
    assert_int_equal(a->dir, TC_SDP_SENDRECV);
    assert_string_equal(a->ice_ufrag, "KXUi");
    assert_string_equal(a->ice_pwd, "s+Ka6qb6mGksctjmYHJZCGHB");
    assert_true(a->ice_trickle);
    assert_true(a->fingerprint.present);
    assert_string_equal(a->fingerprint.algo, "sha-256");
    assert_int_equal(a->fingerprint.len, 32);
    assert_int_equal(a->fingerprint.hash[0], 0x32);
    assert_int_equal(a->fingerprint.hash[31], 0x00);
    assert_int_equal(a->setup, TC_SDP_SETUP_ACTPASS);
    assert_int_equal(a->n_candidates, 8);
    assert_string_equal(a->candidates[2].address, "::1");
    assert_int_equal(a->candidates[4].transport, TC_SDP_TCP);
    assert_int_equal(a->candidates[4].tcptype, TC_SDP_TCP_ACTIVE);
    assert_int_equal(a->candidates[4].port, 9);
    assert_false(a->candidates[0].mdns);
}

static void test_chromium_video(void **state)
{
    (void)state;
    load("chromium156_offer.sdp");
    assert_int_equal(parse_text(), 0);
    const tc_sdp_media *v = &sdp.media[1];
    assert_int_equal(v->kind, TC_SDP_VIDEO);
    assert_int_equal(v->n_codecs, 23);
    assert_int_equal(v->n_extmaps, 11);
    const tc_sdp_codec *h264 = codec(v, 108);
    assert_int_equal(h264->packetization_mode, 1);
    assert_true(h264->has_profile_level_id);
    assert_int_equal(h264->profile_level_id, 0x42e01f);
    assert_int_equal(h264->n_fb, 5);
    assert_string_equal(h264->fb[4], "nack pli");
    assert_int_equal(codec(v, 109)->apt, 108);
    assert_int_equal(codec(v, 104)->packetization_mode, 0);
    assert_int_equal(codec(v, 96)->apt, -1);
    assert_true(v->has_fid);
    assert_int_equal(v->fid[0], 1611640453u);
    assert_int_equal(v->fid[1], 4083269887u);
    assert_int_equal(v->n_ssrcs, 2);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), 0);
}

static void test_firefox_fields(void **state)
{
    (void)state;
    load("firefox115_offer.sdp");
    assert_int_equal(parse_text(), 0);
    assert_true(sdp.fingerprint.present); /* session level */
    assert_true(sdp.extmap_allow_mixed);
    const tc_sdp_media *a = &sdp.media[0], *v = &sdp.media[1];
    assert_int_equal(a->fingerprint.hash[0], 0x5B); /* inherited */
    assert_string_equal(a->ice_ufrag, "8c2f61ab");
    assert_true(a->ice_trickle);
    assert_true(a->end_of_candidates);
    assert_int_equal(a->n_candidates, 3);
    assert_true(a->candidates[0].mdns);
    assert_int_equal(a->candidates[1].type, TC_SDP_SRFLX);
    assert_true(a->candidates[1].has_raddr);
    assert_string_equal(a->candidates[1].raddr, "0.0.0.0");
    assert_int_equal(a->candidates[1].rport, 0);
    assert_int_equal(a->extmaps[1].dir, TC_SDP_RECVONLY);
    assert_int_equal(codec(a, 9)->channels, 1);
    /* fmtp before rtpmap */
    const tc_sdp_codec *h264 = codec(v, 126);
    assert_string_equal(h264->name, "H264");
    assert_int_equal(h264->packetization_mode, 1);
    assert_int_equal(codec(v, 97)->packetization_mode, -1);
    assert_int_equal(codec(v, 127)->apt, 126);
    assert_string_equal(v->msid, "{6b1f0c2e-94d3-4a87-b5e1-2c7d9f30a416} "
                                 "{4e8b2d17-a60c-4f39-b2d5-91c3e7f0a628}");
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), 0);
}

static void test_safari_fields(void **state)
{
    (void)state;
    load("safari17_offer.sdp");
    assert_int_equal(parse_text(), 0);
    const tc_sdp_media *v = &sdp.media[1];
    assert_int_equal(v->codecs[0].pt, 96);
    assert_string_equal(v->codecs[0].name, "H264");
    assert_int_equal(v->codecs[0].profile_level_id, 0x640c1f);
    assert_int_equal(v->n_candidates, 0);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), 0);
}

static void assert_has(const char *needle)
{
    if (!strstr(answer, needle))
        fail_msg("answer lacks \"%s\":\n%s", needle, answer);
}

static void assert_lacks(const char *needle)
{
    if (strstr(answer, needle))
        fail_msg("answer has \"%s\":\n%s", needle, answer);
}

static void test_answer_chromium(void **state)
{
    (void)state;
    load("chromium156_offer.sdp");
    assert_int_equal(parse_text(), 0);
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8,H264"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_int_equal(ch[0].pt, 111);
    assert_int_equal(ch[1].pt, 96);
    assert_int_equal(ch[1].rtx_pt, 97);
    assert_string_equal(ch[1].ref.name, "VP8");
    assert_has("a=group:BUNDLE 0 1\r\n");
    assert_has("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
    assert_has("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n");
    assert_has("a=setup:passive\r\n");
    assert_has("a=ice-ufrag:tcUf\r\n");
    assert_has("a=fingerprint:sha-256 00:01:02:03:");
    assert_has("a=rtcp-mux\r\n");
    assert_has("a=ice-options:trickle\r\n");
    assert_has("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n");
    assert_has("a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n");
    assert_lacks("transport-wide-cc");
    assert_lacks("transport-cc");
    assert_has("a=rtcp-fb:96 nack pli\r\n");
    assert_has("a=fmtp:97 apt=96\r\n");
    assert_has("a=ssrc-group:FID 1001 2001\r\n");
    assert_has("a=ssrc:1000 cname:relay\r\n");
    assert_has("a=sendrecv\r\n");
    assert_lacks("a=candidate");
    assert_int_equal(again.media[1].codecs[0].pt, 96);
    assert_true(again.media[1].fingerprint.present);
    assert_int_equal(tc_sdp_check_webrtc(&again, why, sizeof why), 0);

    prefs.video = "H264,VP8";
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_int_equal(ch[1].pt, 108); /* pm=1 and 42e01f among six H264 */
    assert_int_equal(ch[1].rtx_pt, 109);
    assert_has("a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;"
               "profile-level-id=42e01f\r\n");
}

static void test_answer_firefox_safari(void **state)
{
    (void)state;
    tc_sdp_prefs prefs = {.audio = "opus", .video = "H264,VP8"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    load("firefox115_offer.sdp");
    assert_int_equal(parse_text(), 0);
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_int_equal(ch[0].pt, 109);
    assert_int_equal(ch[1].pt, 126);
    assert_int_equal(ch[1].rtx_pt, 127);
    assert_has("a=rtpmap:109 opus/48000/2\r\n");
    assert_has("a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n");
    assert_has("a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n");

    load("safari17_offer.sdp");
    assert_int_equal(parse_text(), 0);
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_int_equal(ch[1].pt, 98); /* 42e01f over High 640c1f */
    prefs.video = "VP8";
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_int_equal(ch[1].pt, 127);
    assert_int_equal(ch[1].rtx_pt, 125);
}

static void test_constraint(void **state)
{
    (void)state;
    load("firefox115_offer.sdp");
    assert_int_equal(parse_text(), 0);
    tc_sdp_codec_ref h264 = {"h264", 90000}, vp9 = {"VP9", 90000}, av1 = {"AV1", 90000};
    tc_sdp_codec_ref opus = {"opus", 48000}, opus16 = {"opus", 16000};
    tc_sdp_prefs prefs = {
        .audio = "opus", .video = "VP8", .audio_constraint = &opus, .video_constraint = &h264};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_int_equal(ch[1].pt, 126); /* the other leg's codec beats the list */
    prefs.video_constraint = &vp9;
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_int_equal(ch[1].pt, 121);
    /* one m-line without a common codec is rejected alone (issue 11) */
    prefs.video_constraint = &av1;
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), 0);
    assert_true(ch[0].accepted);
    assert_false(ch[1].accepted);
    assert_true(ch[1].no_codec);
    prefs.video_constraint = NULL;
    prefs.audio_constraint = &opus16;
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), 0);
    assert_true(ch[0].no_codec);
    assert_true(ch[1].accepted);
    prefs.audio_constraint = NULL;
    prefs.video = "AV1,H265";
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), 0);
    assert_true(ch[1].no_codec);
    prefs.video = NULL;
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), 0);
    assert_true(ch[1].no_codec);
    /* nothing in common at all: the offer is refused */
    prefs.audio_constraint = &opus16;
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), -EINVAL);
    assert_string_equal(why, "m-line 0 (audio): no common codec");
}

static void expect_reject(const char *drop, const char *reason)
{
    load("chromium156_offer.sdp");
    drop_lines(drop);
    assert_int_equal(parse_text(), 0);
    why[0] = '\0';
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), -EINVAL);
    if (!strstr(why, reason))
        fail_msg("reason \"%s\" lacks \"%s\"", why, reason);
    assert_null(strchr(why, '\n'));
}

static void test_rejection_reasons(void **state)
{
    (void)state;
    expect_reject("a=fingerprint", "no sha-256 fingerprint");
    expect_reject("a=group:BUNDLE", "no a=group:BUNDLE");
    expect_reject("a=rtcp-mux", "has no a=rtcp-mux");
    expect_reject("a=ice-ufrag", "no ICE ufrag/pwd");
    expect_reject("a=ice-pwd", "no ICE ufrag/pwd");
    expect_reject("a=mid", "has no a=mid");
    expect_reject("m=", "no m-lines");
    load("chromium156_offer.sdp");
    char *g = strstr(text, "BUNDLE 0 1");
    g[9] = '7';
    assert_int_equal(parse_text(), 0);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), -EINVAL);
    assert_string_equal(why, "m-line 1 (mid 1) is not in the BUNDLE group");
    load("chromium156_offer.sdp");
    char *mid1 = strstr(text, "a=mid:1");
    mid1[6] = '0';
    assert_int_equal(parse_text(), 0);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), -EINVAL);
    assert_string_equal(why, "m-line 1 reuses mid 0");
    /* sha-1 alone is not enough */
    load("chromium156_offer.sdp");
    drop_lines("a=fingerprint");
    append("a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n");
    assert_int_equal(parse_text(), 0);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), -EINVAL);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, NULL, 0), -EINVAL);
}

static const char fp_line[] = "a=fingerprint:sha-256 "
                              "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:"
                              "10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n";

static void base_session(void)
{
    text_len = 0;
    append("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n%s", fp_line);
    append("a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n");
}

static void audio_mline(const char *mid)
{
    append("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:%s\r\na=rtcp-mux\r\n"
           "a=rtpmap:111 opus/48000/2\r\n",
           mid);
}

static void test_limits(void **state)
{
    (void)state;
    /* m-lines: 8 is fine, 9 is not */
    for (unsigned n = 8; n <= 9; n++) {
        base_session();
        append("a=group:BUNDLE");
        for (unsigned i = 0; i < n; i++)
            append(" m%u", i);
        append("\r\n");
        for (unsigned i = 0; i < n; i++) {
            char mid[8];
            snprintf(mid, sizeof mid, "m%u", i);
            audio_mline(mid);
        }
        assert_int_equal(parse_text(), n == 8 ? 0 : -E2BIG);
    }
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), -EINVAL);
    /* candidates, payload types, extmaps, ssrcs, rtcp-fb */
    /* line i is pre, i, mid, i, post */
    struct {
        const char *pre, *mid, *post;
        unsigned limit;
    } per_line[] = {
        {"a=candidate:", " 1 udp 1 192.0.2.1 ", " typ host", TC_SDP_MAX_CANDIDATES},
        {"a=extmap:", " urn:x:", "", TC_SDP_MAX_EXTMAPS},
        {"a=ssrc:", " cname:c", "", TC_SDP_MAX_SSRCS},
        {"a=rtcp-fb:111 fb", "-", "", TC_SDP_MAX_RTCP_FB},
        {"a=rtcp-fb:* any", "-", "", TC_SDP_MAX_RTCP_FB},
    };
    for (unsigned k = 0; k < sizeof per_line / sizeof per_line[0]; k++) {
        for (unsigned n = per_line[k].limit; n <= per_line[k].limit + 1; n++) {
            base_session();
            audio_mline("a");
            for (unsigned i = 1; i <= n; i++)
                append("%s%u%s%u%s\r\n", per_line[k].pre, i, per_line[k].mid, i, per_line[k].post);
            assert_int_equal(parse_text(), n == per_line[k].limit ? 0 : -E2BIG);
        }
    }
    for (unsigned n = TC_SDP_MAX_CODECS; n <= TC_SDP_MAX_CODECS + 1; n++) {
        base_session();
        append("m=video 9 UDP/TLS/RTP/SAVPF");
        for (unsigned i = 0; i < n; i++)
            append(" %u", 30 + i); /* payload types 30 and up stay below 128 */
        append("\r\n");
        assert_int_equal(parse_text(), n == TC_SDP_MAX_CODECS ? 0 : -E2BIG);
    }
}

static void test_size_and_tokens(void **state)
{
    (void)state;
    base_session();
    audio_mline("a");
    while (text_len < TC_SDP_MAX_LEN - 100)
        append("a=x-filler:%s\r\n", "0123456789");
    int pad = (int)(TC_SDP_MAX_LEN - text_len) - 10; /* "a=x-pad:" ... "\r\n" */
    char xs[128];
    memset(xs, 'x', sizeof xs);
    append("a=x-pad:%.*s\r\n", pad, xs);
    assert_int_equal(text_len, TC_SDP_MAX_LEN);
    assert_int_equal(parse_text(), 0);
    text_len++;
    text[text_len - 1] = '\n';
    assert_int_equal(parse_text(), -E2BIG);
    char longtok[300];
    memset(longtok, 'x', sizeof longtok);
    /* pre, a token of len - 1 or len bytes, post */
    struct {
        const char *pre, *post;
        int len;
    } too_long[] = {
        {"a=mid:", "", TC_SDP_ID_LEN + 1},
        {"a=ice-ufrag:", "", TC_SDP_ICE_LEN + 1},
        {"a=extmap:1 ", "", TC_SDP_URI_LEN + 1},
        {"a=fmtp:111 ", "", TC_SDP_FMTP_LEN + 1},
        {"a=rtpmap:111 ", "/48000", TC_SDP_ID_LEN + 1},
        {"a=candidate:1 1 udp 1 ", " 9 typ host", TC_SDP_ADDR_LEN + 1},
    };
    for (unsigned k = 0; k < sizeof too_long / sizeof too_long[0]; k++) {
        for (int n = too_long[k].len - 1; n <= too_long[k].len; n++) {
            base_session();
            audio_mline("a");
            append("%s%.*s%s\r\n", too_long[k].pre, n, longtok, too_long[k].post);
            assert_int_equal(parse_text(), n < too_long[k].len ? 0 : -E2BIG);
        }
    }
}

static void expect_malformed(const char *line)
{
    base_session();
    audio_mline("a");
    append("%s\r\n", line);
    int rc = parse_text();
    if (rc != -EINVAL)
        fail_msg("\"%s\": %d", line, rc);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "x",
        "m=audio 9 UDP/TLS/RTP/SAVPF",
        "m=audio 9 UDP/TLS/RTP/SAVPF 128",
        "m=audio 9 UDP/TLS/RTP/SAVPF abc",
        "m=audio 99999 UDP/TLS/RTP/SAVPF 0",
        "a=rtpmap:111 opus/fast",
        "a=rtpmap:111 opus/48000/2/1",
        "a=rtpmap:111 opus/48000/300",
        "a=fmtp:111 apt=200",
        "a=fmtp:111 packetization-mode=3",
        "a=fmtp:111 profile-level-id=42e0",
        "a=fmtp:111 profile-level-id=42e0zz",
        "a=extmap:0 urn:x",
        "a=extmap:256 urn:x",
        "a=extmap:1/sideways urn:x",
        "a=ssrc:notanumber cname:x",
        "a=ssrc-group:FID 1",
        "a=setup:sometimes",
        "a=mid:two words",
        "a=fingerprint:sha-256 00:01",
        "a=fingerprint:sha-256 0G:01",
        "a=fingerprint:sha-256 00-01",
        "a=candidate:1 1 udp 1 192.0.2.1 9 typ nowhere",
        "a=mid:a\x01",
        "a=rtpmap:",
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_malformed(bad[i]);
    assert_int_equal(tc_sdp_parse("v=1\r\n", 5, &sdp), -EINVAL);
    assert_int_equal(tc_sdp_parse("", 0, &sdp), -EINVAL);
    assert_int_equal(tc_sdp_parse("\r\n\r\n", 4, &sdp), -EINVAL);
    assert_int_equal(tc_sdp_parse("v=0\r\nm=audio\0", 13, &sdp), -EINVAL);
    /* unknown lines, rtpmap for absent payload types and LF-only ends are fine */
    base_session();
    audio_mline("a");
    append("a=rtpmap:5 foo/1\nz=whatever\na=x-unknown\nb=AS:30\n");
    assert_int_equal(parse_text(), 0);
}

static void test_every_prefix(void **state)
{
    (void)state;
    load("chromium156_offer.sdp");
    static char copy[8192];
    size_t full = text_len;
    memcpy(copy, text, full);
    for (size_t n = 0; n <= full; n++) {
        int rc = tc_sdp_parse(copy, n, &sdp);
        assert_true(rc == 0 || rc == -EINVAL);
        if (n < 3)
            assert_int_equal(rc, -EINVAL);
    }
}

static void test_candidates(void **state)
{
    (void)state;
    tc_sdp_candidate c;
    const char *s = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr "
                    "10.0.0.2 rport 51000 generation 0 ufrag 4ZcD network-cost 999";
    assert_int_equal(tc_sdp_parse_candidate(s, strlen(s), &c), 0);
    assert_string_equal(c.foundation, "842163049");
    assert_int_equal(c.component, 1);
    assert_int_equal(c.transport, TC_SDP_UDP);
    assert_int_equal(c.priority, 1677729535u);
    assert_string_equal(c.address, "203.0.113.7");
    assert_int_equal(c.port, 46154);
    assert_int_equal(c.type, TC_SDP_SRFLX);
    assert_true(c.has_raddr);
    assert_string_equal(c.raddr, "10.0.0.2");
    assert_int_equal(c.rport, 51000);
    assert_false(c.mdns);
    s = "a=candidate:1 2 TCP 2105524479 4b0d7d0a-1d2e-4c8a-9f62-0f3c1b2a9e7d.LOCAL 9 typ host "
        "tcptype passive\r\n";
    assert_int_equal(tc_sdp_parse_candidate(s, strlen(s), &c), 0);
    assert_true(c.mdns);
    assert_int_equal(c.component, 2);
    assert_int_equal(c.transport, TC_SDP_TCP);
    assert_int_equal(c.tcptype, TC_SDP_TCP_PASSIVE);
    s = "candidate:9 1 udp 5 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 1 tcptype so";
    assert_int_equal(tc_sdp_parse_candidate(s, strlen(s), &c), 0);
    assert_int_equal(c.type, TC_SDP_RELAY);
    assert_int_equal(c.tcptype, TC_SDP_TCP_SO);
    s = "candidate:9 1 udp 5 192.0.2.1 1 typ prflx";
    assert_int_equal(tc_sdp_parse_candidate(s, strlen(s), &c), 0);
    assert_int_equal(c.type, TC_SDP_PRFLX);
}

static void test_candidates_bad(void **state)
{
    (void)state;
    tc_sdp_candidate c;
    const char *enotsup = "candidate:1 1 ssltcp 1 192.0.2.1 443 typ host";
    assert_int_equal(tc_sdp_parse_candidate(enotsup, strlen(enotsup), &c), -ENOTSUP);
    const char *einval[] = {
        "",
        "candidate:",
        "cand:1 1 udp 1 192.0.2.1 9 typ host",
        "candidate:1 1 udp 1 192.0.2.1 9",
        "candidate:1 1 udp 1 192.0.2.1 9 type host",
        "candidate:1 1 udp 1 192.0.2.1 9 typ hosts",
        "candidate:1 0 udp 1 192.0.2.1 9 typ host",
        "candidate:1 257 udp 1 192.0.2.1 9 typ host",
        "candidate:1 1 udp 4294967296 192.0.2.1 9 typ host",
        "candidate:1 1 udp 1 192.0.2.1 65536 typ host",
        "candidate:1 1 udp 1 192.0.2.1 9 typ host raddr",
        "candidate:1 1 udp 1 192.0.2.1 9 typ host rport x",
        "candidate:1 1 tcp 1 192.0.2.1 9 typ host tcptype sideways",
        "candidate:1 1 udp 1 192.0.2.1 9 typ host\tgeneration\x02 0",
    };
    for (unsigned i = 0; i < sizeof einval / sizeof einval[0]; i++) {
        int rc = tc_sdp_parse_candidate(einval[i], strlen(einval[i]), &c);
        if (rc != -EINVAL)
            fail_msg("\"%s\": %d", einval[i], rc);
    }
    char longf[80];
    snprintf(longf, sizeof longf, "candidate:%s 1 udp 1 192.0.2.1 9 typ host",
             "012345678901234567890123456789012");
    assert_int_equal(tc_sdp_parse_candidate(longf, strlen(longf), &c), -E2BIG);
    /* every prefix of a good one: an error or a shorter valid candidate */
    const char *s = "candidate:1 1 udp 1 192.0.2.1 9 typ host raddr 0.0.0.0 rport 0";
    for (size_t n = 0; n < strlen(s); n++) {
        int rc = tc_sdp_parse_candidate(s, n, &c);
        assert_true(rc == 0 || rc == -EINVAL || rc == -ENOTSUP); /* "u", "ud" */
    }
}

static void test_answer_shapes(void **state)
{
    (void)state;
    /* a data channel m-line is rejected with port 0 and left out of BUNDLE;
     * a sendonly offer gets recvonly and no SSRCs of ours; rtcp-fb:* */
    base_session();
    append("a=group:BUNDLE a d\r\n");
    audio_mline("a");
    append("a=sendonly\r\na=rtcp-fb:* nack\r\na=rtcp-fb:* transport-cc\r\n");
    append("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\n");
    assert_int_equal(parse_text(), 0);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), 0);
    tc_sdp_prefs prefs = {.audio = "opus"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    assert_int_equal(answer_with(&prefs, ch), 0);
    assert_false(ch[1].accepted);
    assert_has("a=group:BUNDLE a\r\n");
    assert_has("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n");
    assert_has("a=recvonly\r\n");
    assert_has("a=rtcp-fb:111 nack\r\n");
    assert_lacks("transport-cc");
    assert_lacks("a=ssrc:");
    assert_lacks("a=msid:");
    assert_int_equal(again.media[1].port, 0);
}

/* Found by fuzz_sdp (corpus/sdp/crash-nomid): an m-line without a mid was
 * accepted and answered with an empty a=mid, which does not parse. */
static void test_answer_without_mid(void **state)
{
    (void)state;
    text_len = 0;
    append("v=0\na=g \r\nm=audio 2 UDP/T/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8001\r\n");
    assert_int_equal(parse_text(), 0);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), -EINVAL);
    tc_sdp_prefs prefs = {.audio = "PCMU"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), -EINVAL);
    assert_string_equal(why, "no audio or video m-line to accept");
    assert_false(ch[0].accepted);
    tc_sdp_local l = local_for_tests();
    int n = tc_sdp_write_answer(&sdp, ch, &prefs, &l, answer, sizeof answer);
    assert_true(n > 0);
    assert_int_equal(tc_sdp_parse(answer, (size_t)n, &again), 0);
    assert_has("m=audio 0 UDP/T/RTP/SAVPF 0\r\n");
    assert_lacks("a=mid");
    assert_lacks("BUNDLE");
}

static void test_answer_candidates_and_space(void **state)
{
    (void)state;
    /* candidates of ours, in the first m-line only; a custom extmap list */
    load("chromium156_offer.sdp");
    assert_int_equal(parse_text(), 0);
    const char *keep[] = {"urn:3gpp:video-orientation"};
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8", .extmaps = keep, .n_extmaps = 1};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), 0);
    tc_sdp_local l = local_for_tests();
    tc_sdp_candidate cand[2];
    const char *c0 = "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host";
    const char *c1 = "candidate:2 1 tcp 1 127.0.0.1 40001 typ host tcptype passive";
    assert_int_equal(tc_sdp_parse_candidate(c0, strlen(c0), &cand[0]), 0);
    assert_int_equal(tc_sdp_parse_candidate(c1, strlen(c1), &cand[1]), 0);
    l.candidates = cand;
    l.n_candidates = 2;
    l.end_of_candidates = true;
    int n = tc_sdp_write_answer(&sdp, ch, &prefs, &l, answer, sizeof answer);
    assert_true(n > 0);
    assert_has("a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n");
    assert_has("tcptype passive\r\na=end-of-candidates\r\n");
    assert_has("a=extmap:13 urn:3gpp:video-orientation\r\n");
    assert_lacks("sdes:mid");
    assert_int_equal(tc_sdp_parse(answer, (size_t)n, &again), 0);
    assert_int_equal(again.media[0].n_candidates, 2);
    assert_int_equal(again.media[1].n_candidates, 0);

    /* every buffer too small is -ENOSPC, and the exact one fits */
    static char small[TC_SDP_MAX_LEN];
    for (size_t cap = 0; cap <= (size_t)n; cap++)
        assert_int_equal(tc_sdp_write_answer(&sdp, ch, &prefs, &l, small, cap), -ENOSPC);
    assert_int_equal(tc_sdp_write_answer(&sdp, ch, &prefs, &l, small, (size_t)n + 1), n);
    cand[1].type = (tc_sdp_cand_type)9;
    assert_int_equal(tc_sdp_write_answer(&sdp, ch, &prefs, &l, small, sizeof small), -EINVAL);
    cand[1].type = TC_SDP_HOST;
    l.ice_ufrag = "bad ufrag";
    assert_int_equal(tc_sdp_write_answer(&sdp, ch, &prefs, &l, small, sizeof small), -EINVAL);
    l.ice_ufrag = NULL;
    assert_int_equal(tc_sdp_write_answer(&sdp, ch, &prefs, &l, small, sizeof small), -EINVAL);
}

static void test_fingerprint_choice(void **state)
{
    (void)state;
    const char *sha1 = "a=fingerprint:sha-1 "
                       "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n";
    for (int order = 0; order < 2; order++) {
        text_len = 0;
        append("v=0\r\n%s%s", order ? sha1 : fp_line, order ? fp_line : sha1);
        assert_int_equal(parse_text(), 0);
        assert_string_equal(sdp.fingerprint.algo, "sha-256");
        assert_int_equal(sdp.fingerprint.hash[31], 0x1F);
    }
    text_len = 0;
    append("v=0\r\n%s", sha1);
    assert_int_equal(parse_text(), 0);
    assert_string_equal(sdp.fingerprint.algo, "sha-1");
    assert_int_equal(sdp.fingerprint.len, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chromium_fields),
        cmocka_unit_test(test_chromium_video),
        cmocka_unit_test(test_firefox_fields),
        cmocka_unit_test(test_safari_fields),
        cmocka_unit_test(test_answer_chromium),
        cmocka_unit_test(test_answer_firefox_safari),
        cmocka_unit_test(test_constraint),
        cmocka_unit_test(test_rejection_reasons),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_size_and_tokens),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_candidates_bad),
        cmocka_unit_test(test_answer_shapes),
        cmocka_unit_test(test_answer_without_mid),
        cmocka_unit_test(test_answer_candidates_and_space),
        cmocka_unit_test(test_fingerprint_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
