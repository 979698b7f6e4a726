/* Unit tests for sdp with offers from stacks other than Chromium (issue 11):
 * Firefox's bundle-only m-lines, GStreamer webrtcbin's bundle-only BUNDLE tag
 * and its per-section checks of the answer, aiortc's one extmap id for two
 * URIs, an H.264-only iPhone against a VP8-only agent, and candidates from an
 * offer rebuilt for libnice. Fixtures: tests/fixtures/sdp/README.md. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <agent.h>
#include <glib.h>

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

/* Drops the lines that start with prefix, only after the first line that
 * starts with after (an m-line: one section and those that follow). */
static void drop_lines_after(const char *after, const char *prefix)
{
    char *start = strstr(text, after);
    assert_non_null(start);
    char *out = start, *line = start;
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

/* Replaces the first from with to (same text otherwise). */
static void replace(const char *from, const char *to)
{
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t fl = strlen(from), tl = strlen(to);
    assert_true(text_len - fl + tl < sizeof text);
    memmove(at + tl, at + fl, text_len - (size_t)(at - text) - fl + 1);
    memcpy(at, to, tl);
    text_len = text_len - fl + tl;
}

static tc_sdp_local local_for_tests(void)
{
    tc_sdp_local l = {.ice_ufrag = "tcUf",
                      .ice_pwd = "abcdefghijklmnopqrstuvwx",
                      .session_id = 7,
                      .cname = "relay",
                      .msid_stream = "tc"};
    for (unsigned i = 0; i < 32; i++)
        l.fingerprint_sha256[i] = (uint8_t)(0xA0 + i);
    for (unsigned i = 0; i < TC_SDP_MAX_MEDIA; i++) {
        l.ssrc[i] = 1000 + i;
        l.rtx_ssrc[i] = 2000 + i;
    }
    return l;
}

/* Parses text, checks it as the relay does, selects with prefs and writes
 * the answer (parsed back into again). */
static void answer_text(const tc_sdp_prefs *prefs, tc_sdp_choice *ch)
{
    assert_int_equal(tc_sdp_parse(text, text_len, &sdp), 0);
    assert_int_equal(tc_sdp_check_webrtc(&sdp, why, sizeof why), 0);
    assert_int_equal(tc_sdp_select(&sdp, prefs, ch, why, sizeof why), 0);
    tc_sdp_local l = local_for_tests();
    int n = tc_sdp_write_answer(&sdp, ch, prefs, &l, answer, sizeof answer);
    assert_true(n > 0);
    assert_int_equal(tc_sdp_parse(answer, (size_t)n, &again), 0);
    assert_int_equal(again.n_media, sdp.n_media);
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

/* What webrtcbin's validate_sdp and _check_sdp_crypto ask of every m-section
 * of an answer, rejected ones included: mid, ICE ufrag and pwd, a setup of
 * actpass/active/passive, a fingerprint (there is no session-level one). */
static void assert_every_section_complete(void)
{
    const char *need[] = {"a=mid:", "a=ice-ufrag:", "a=ice-pwd:", "a=setup:passive",
                          "a=fingerprint:sha-256 "};
    char *sec = strstr(answer, "\r\nm=");
    assert_non_null(sec);
    unsigned sections = 0;
    while (sec) {
        char *next = strstr(sec + 2, "\r\nm=");
        size_t len = next ? (size_t)(next - sec) : strlen(sec);
        for (unsigned k = 0; k < sizeof need / sizeof need[0]; k++)
            if (!memmem(sec, len, need[k], strlen(need[k])))
                fail_msg("m-section %u lacks %s:\n%s", sections, need[k], answer);
        sections++;
        sec = next;
    }
    assert_int_equal(sections, again.n_media);
    const char *first_m = strstr(answer, "\r\nm=");
    assert_null(memmem(answer, (size_t)(first_m - answer), "a=fingerprint", 13));
}

/* ---- Firefox: the second m-line is bundle-only --------------------------- */

static void test_firefox_bundle_only_video(void **state)
{
    (void)state;
    load("firefox128_bundle_only_offer.sdp");
    assert_int_equal(tc_sdp_parse(text, text_len, &sdp), 0);
    assert_int_equal(sdp.media[1].port, 0);
    assert_true(sdp.media[1].bundle_only);
    assert_false(sdp.media[0].bundle_only);
    assert_true(tc_sdp_media_live(&sdp, 1));
    assert_int_equal(tc_sdp_transport_media(&sdp), 0);
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8,H264"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_true(ch[1].accepted);
    assert_int_equal(ch[1].pt, 120);
    assert_int_equal(ch[1].rtx_pt, 124);
    /* answered as an ordinary bundled m-line: a port, no bundle-only */
    assert_has("a=group:BUNDLE 0 1\r\n");
    assert_has("m=video 9 UDP/TLS/RTP/SAVPF 120 124\r\n");
    assert_lacks("m=video 0 ");
    assert_lacks("bundle-only");
    assert_lacks("a=inactive");
    assert_int_equal(again.media[1].port, 9);
    assert_every_section_complete();
}

/* JSEP 5.2.1 lets a bundle-only m-line leave out its ICE and DTLS lines: it
 * takes the BUNDLE transport's. */
static void test_bundle_only_without_transport_lines(void **state)
{
    (void)state;
    load("firefox128_bundle_only_offer.sdp");
    drop_lines_after("m=video", "a=ice-ufrag");
    drop_lines_after("m=video", "a=ice-pwd");
    drop_lines_after("m=video", "a=setup");
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_string_equal(sdp.media[1].ice_ufrag, "5d7e20a1");
    assert_string_equal(sdp.media[1].ice_pwd, "e1c0a7f3b29d46815cf2d0b8a3e7916c");
    assert_int_equal(sdp.media[1].setup, TC_SDP_SETUP_ACTPASS);
    assert_true(ch[1].accepted);
}

/* Port 0 without bundle-only is still a rejection by the offerer, and so is
 * bundle-only on an m-line outside the BUNDLE group. */
static void test_port_zero_still_rejected(void **state)
{
    (void)state;
    load("firefox128_bundle_only_offer.sdp");
    drop_lines_after("m=video", "a=bundle-only");
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_false(ch[1].accepted);
    assert_has("m=video 0 ");
    load("firefox128_bundle_only_offer.sdp");
    replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0");
    answer_text(&prefs, ch);
    assert_false(tc_sdp_media_live(&sdp, 1));
    assert_false(ch[1].accepted);
}

/* ---- webrtcbin: the BUNDLE tag itself is bundle-only ---------------------- */

static void test_webrtcbin_bundle_tag_bundle_only(void **state)
{
    (void)state;
    load("webrtcbin_max_bundle_offer.sdp");
    assert_int_equal(tc_sdp_parse(text, text_len, &sdp), 0);
    assert_int_equal(sdp.media[0].port, 0);
    assert_true(sdp.media[0].bundle_only);
    assert_int_equal(tc_sdp_transport_media(&sdp), 0);
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8,H264"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_true(ch[0].accepted);
    assert_true(ch[1].accepted);
    assert_int_equal(ch[0].pt, 96);
    assert_int_equal(ch[1].pt, 111);
    assert_has("a=group:BUNDLE video0 audio1\r\n");
    assert_has("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n");
    assert_has("a=rtpmap:111 OPUS/48000/2\r\n");
    assert_every_section_complete();
}

static void test_webrtcbin_every_mline_bundle_only(void **state)
{
    (void)state;
    load("webrtcbin_max_bundle_offer.sdp");
    replace("m=audio 9 ", "m=audio 0 ");
    replace("a=mid:audio1\r\n", "a=mid:audio1\r\na=bundle-only\r\n");
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_true(ch[0].accepted && ch[1].accepted);
    assert_lacks(" 0 UDP/TLS");
    assert_every_section_complete();
}

/* A rejected m-section keeps the lines webrtcbin requires of every section
 * ("No fingerprint lines in sdp for media 1"). */
static void test_webrtcbin_rejected_section_complete(void **state)
{
    (void)state;
    load("webrtcbin_max_bundle_offer.sdp");
    tc_sdp_prefs prefs = {.audio = "opus", .video = "H264"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_false(ch[0].accepted);
    assert_true(ch[0].no_codec);
    assert_has("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n");
    assert_has("a=group:BUNDLE audio1\r\n");
    assert_every_section_complete();
}

/* ---- aiortc: extmap id 2 is audio-level on audio, abs-send-time on video -- */

static void test_aiortc_duplicate_extmap_id(void **state)
{
    (void)state;
    load("aiortc_offer.sdp");
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8,H264"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_true(ch[0].accepted && ch[1].accepted);
    /* the first use of id 2 stays; the conflicting one is not echoed */
    assert_has("a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n");
    assert_lacks("abs-send-time");
    assert_has("a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n");
    assert_true(tc_sdp_extmap_kept(&sdp, ch, NULL, 0, 1));
    assert_false(tc_sdp_extmap_kept(&sdp, ch, NULL, 1, 1));
    assert_true(tc_sdp_extmap_kept(&sdp, ch, NULL, 1, 0)); /* same id, same URI */
    /* in the answer, every id names one URI across the BUNDLE group */
    for (unsigned a = 0; a < again.n_media; a++)
        for (unsigned i = 0; i < again.media[a].n_extmaps; i++)
            for (unsigned b = 0; b < again.n_media; b++)
                for (unsigned j = 0; j < again.media[b].n_extmaps; j++)
                    if (again.media[a].extmaps[i].id == again.media[b].extmaps[j].id)
                        assert_string_equal(again.media[a].extmaps[i].uri,
                                            again.media[b].extmaps[j].uri);
}

/* The video m-line is rejected: its extensions are not the answer's, and do
 * not block their ids for the m-lines that stay. */
static void test_extmap_of_rejected_mline(void **state)
{
    (void)state;
    load("aiortc_offer.sdp");
    /* audio first would win id 2; with audio refused, video keeps it */
    tc_sdp_prefs prefs = {.audio = "G722", .video = "VP8"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_false(ch[0].accepted);
    assert_true(tc_sdp_extmap_kept(&sdp, ch, NULL, 1, 1));
    assert_has("a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n");
    assert_false(tc_sdp_extmap_kept(&sdp, ch, NULL, 0, 1));
}

/* ---- an H.264-only iPhone customer and a VP8-only agent ------------------- */

static void test_no_common_video_codec_keeps_audio(void **state)
{
    (void)state;
    load("safari17_ios_h264_only_offer.sdp");
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8,H264"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    answer_text(&prefs, ch);
    assert_true(ch[1].accepted);
    assert_int_equal(ch[1].pt, 98); /* constrained baseline, packetization-mode 1 */
    tc_sdp_codec_ref customer_video = ch[1].ref, customer_audio = ch[0].ref;

    /* the agent: headless Firefox, VP8 and VP9 only */
    load("firefox128_bundle_only_offer.sdp");
    prefs.audio_constraint = &customer_audio;
    prefs.video_constraint = &customer_video;
    answer_text(&prefs, ch);
    assert_true(ch[0].accepted);
    assert_int_equal(ch[0].pt, 109);
    assert_false(ch[1].accepted);
    assert_true(ch[1].no_codec);
    assert_has("m=audio 9 UDP/TLS/RTP/SAVPF 109\r\n");
    assert_has("m=video 0 UDP/TLS/RTP/SAVPF 120\r\n");
    assert_has("a=group:BUNDLE 0\r\n");
    assert_int_equal(again.media[1].port, 0);
    assert_every_section_complete();
}

/* ---- candidates from an offer, rebuilt for libnice ------------------------ */

static unsigned criticals;

static void count_criticals(const gchar *domain, GLogLevelFlags level, const gchar *message,
                            gpointer user)
{
    (void)domain, (void)message, (void)user;
    if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
        criticals++;
}

/* What leg.c does with the offer's candidates: rebuild the line and hand it
 * to nice_agent_parse_remote_candidate_sdp. Before issue 11 the TCP ones lost
 * their tcptype, and libnice raised a GLib-CRITICAL for each. */
static void test_tcp_candidates_keep_tcptype(void **state)
{
    (void)state;
    load("chromium156_offer.sdp");
    assert_int_equal(tc_sdp_parse(text, text_len, &sdp), 0);
    GMainContext *ctx = g_main_context_new();
    NiceAgent *agent = nice_agent_new(ctx, NICE_COMPATIBILITY_RFC5245);
    g_object_set(agent, "upnp", FALSE, "ice-tcp", TRUE, NULL); /* never SSDP */
    guint stream = nice_agent_add_stream(agent, 1);
    GLogFunc old = g_log_set_default_handler(count_criticals, NULL);
    guint h = g_log_set_handler("libnice", G_LOG_LEVEL_MASK, count_criticals, NULL);
    criticals = 0;
    unsigned tcp = 0;
    const tc_sdp_media *m = &sdp.media[0];
    for (unsigned i = 0; i < m->n_candidates; i++) {
        char line[256], with_a[260];
        int n = tc_sdp_write_candidate(&m->candidates[i], line, sizeof line);
        assert_true(n > 0);
        assert_int_equal((size_t)n, strlen(line));
        snprintf(with_a, sizeof with_a, "a=%s", line);
        NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(agent, stream, with_a);
        assert_non_null(c);
        if (m->candidates[i].transport == TC_SDP_TCP) {
            tcp++;
            assert_non_null(strstr(line, " tcptype active"));
            assert_int_equal(c->transport, NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE);
        }
        nice_candidate_free(c);
    }
    g_log_remove_handler("libnice", h);
    g_log_set_default_handler(old, NULL);
    assert_int_equal(tcp, 4);
    assert_int_equal(criticals, 0);
    g_object_unref(agent);
    g_main_context_unref(ctx);
}

static void test_write_candidate(void **state)
{
    (void)state;
    tc_sdp_candidate c;
    const char *in = "candidate:1 1 tcp 1518214911 127.0.0.1 9 typ host tcptype passive "
                     "generation 0";
    assert_int_equal(tc_sdp_parse_candidate(in, strlen(in), &c), 0);
    char out[256];
    assert_true(tc_sdp_write_candidate(&c, out, sizeof out) > 0);
    assert_string_equal(out, "candidate:1 1 tcp 1518214911 127.0.0.1 9 typ host tcptype passive");
    c.tcptype = TC_SDP_TCP_NONE; /* RFC 6544: unusable, and libnice complains */
    assert_int_equal(tc_sdp_write_candidate(&c, out, sizeof out), -EINVAL);
    in = "candidate:2 1 udp 1686052607 198.51.100.7 40000 typ srflx raddr 10.0.0.2 rport 5000";
    assert_int_equal(tc_sdp_parse_candidate(in, strlen(in), &c), 0);
    assert_int_equal(tc_sdp_write_candidate(&c, out, sizeof out), (int)strlen(in));
    assert_string_equal(out, in);
    assert_int_equal(tc_sdp_write_candidate(&c, out, 20), -ENOSPC);
    assert_int_equal(tc_sdp_write_candidate(&c, out, 0), -ENOSPC);
    /* corpus/sdp/crash-udp-tcptype: a tcptype on a UDP candidate is parsed
     * as written, and not written back (RFC 6544: TCP only) */
    in = "candidate:3 1 udp 2122063615 192.0.2.1 9 typ host tcptype active";
    assert_int_equal(tc_sdp_parse_candidate(in, strlen(in), &c), 0);
    assert_int_equal(c.tcptype, TC_SDP_TCP_ACTIVE);
    assert_true(tc_sdp_write_candidate(&c, out, sizeof out) > 0);
    assert_string_equal(out, "candidate:3 1 udp 2122063615 192.0.2.1 9 typ host");
}

/* JSEP 5.3.2: the answer to a re-offer keeps the o= id and has the next
 * version; the caller says which (media.c keeps them per leg). */
static void test_answer_session_version(void **state)
{
    (void)state;
    load("firefox128_bundle_only_offer.sdp");
    assert_int_equal(tc_sdp_parse(text, text_len, &sdp), 0);
    tc_sdp_prefs prefs = {.audio = "opus", .video = "VP8"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    assert_int_equal(tc_sdp_select(&sdp, &prefs, ch, why, sizeof why), 0);
    tc_sdp_local l = local_for_tests();
    assert_true(tc_sdp_write_answer(&sdp, ch, &prefs, &l, answer, sizeof answer) > 0);
    assert_has("\r\no=- 7 2 IN IP4 127.0.0.1\r\n");
    l.session_version = 3;
    assert_true(tc_sdp_write_answer(&sdp, ch, &prefs, &l, answer, sizeof answer) > 0);
    assert_has("\r\no=- 7 3 IN IP4 127.0.0.1\r\n");
}

/* A Chromium 156 offer has 34 video payload types; with 32 at most, a
 * receive-only agent offer got bad_sdp and its call had no media (issue 11,
 * found by the interop tests). */
static void test_many_video_payload_types(void **state)
{
    (void)state;
    GString *s = g_string_new("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                              "a=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF");
    for (int pt = 35; pt < 35 + 29; pt++)
        g_string_append_printf(s, " %d", pt);
    for (int pt = 96; pt < 96 + 5; pt++)
        g_string_append_printf(s, " %d", pt);
    g_string_append(s, "\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n"
                       "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 "
                       "12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:"
                       "12:34:56:78:9A:BC:DE:F0\r\na=setup:actpass\r\na=mid:0\r\na=recvonly\r\n"
                       "a=rtcp-mux\r\n");
    for (int pt = 35; pt < 35 + 29; pt++)
        g_string_append_printf(s, "a=rtpmap:%d H264/90000\r\n", pt);
    g_string_append(s, "a=rtpmap:96 VP8/90000\r\n");
    assert_int_equal(tc_sdp_parse(s->str, s->len, &sdp), 0);
    assert_int_equal(sdp.media[0].n_codecs, 34);
    g_string_free(s, TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firefox_bundle_only_video),
        cmocka_unit_test(test_many_video_payload_types),
        cmocka_unit_test(test_bundle_only_without_transport_lines),
        cmocka_unit_test(test_port_zero_still_rejected),
        cmocka_unit_test(test_webrtcbin_bundle_tag_bundle_only),
        cmocka_unit_test(test_webrtcbin_every_mline_bundle_only),
        cmocka_unit_test(test_webrtcbin_rejected_section_complete),
        cmocka_unit_test(test_aiortc_duplicate_extmap_id),
        cmocka_unit_test(test_extmap_of_rejected_mline),
        cmocka_unit_test(test_no_common_video_codec_keeps_audio),
        cmocka_unit_test(test_tcp_candidates_keep_tcptype),
        cmocka_unit_test(test_write_candidate),
        cmocka_unit_test(test_answer_session_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
