/* fuzz_sdp: parse an offer; when it parses, check it, choose codecs, write
 * the answer, and require the answer to parse again; rebuild its candidates
 * and require them to parse back the same. The input is also fed to the
 * stand-alone candidate parser, as a trickled candidate would be. */
/* The checks below are the oracle: keep them in release builds too. */
#undef NDEBUG
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "telecounter/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tc_sdp offer, reparsed;
static char answer[TC_SDP_MAX_LEN];

static void answer_offer(void)
{
    char why[128];
    (void)tc_sdp_check_webrtc(&offer, why, sizeof why);
    tc_sdp_codec_ref h264 = {"H264", 90000};
    tc_sdp_prefs prefs = {.audio = "opus,PCMU", .video = "VP8,H264"};
    tc_sdp_choice ch[TC_SDP_MAX_MEDIA];
    if (tc_sdp_select(&offer, &prefs, ch, why, sizeof why) < 0) {
        prefs.video_constraint = &h264;
        if (tc_sdp_select(&offer, &prefs, ch, why, sizeof why) < 0)
            return;
    }
    tc_sdp_local local = {
        .ice_ufrag = "uf", .ice_pwd = "pwpwpwpwpwpwpwpwpwpwpwpw", .cname = "c", .msid_stream = "s"};
    for (unsigned i = 0; i < TC_SDP_MAX_MEDIA; i++) {
        local.ssrc[i] = 100 + i;
        local.rtx_ssrc[i] = 200 + i;
    }
    int n = tc_sdp_write_answer(&offer, ch, &prefs, &local, answer, sizeof answer);
    if (n < 0)
        return;
    assert((size_t)n == strlen(answer));
    int rc = tc_sdp_parse(answer, (size_t)n, &reparsed);
    assert(rc == 0);
    assert(reparsed.n_media == offer.n_media);
}

/* Every candidate the parser kept, rebuilt as leg.c rebuilds it for libnice,
 * parses again to the same candidate. */
static void rebuild_candidates(void)
{
    char line[512];
    for (unsigned m = 0; m < offer.n_media; m++) {
        for (unsigned i = 0; i < offer.media[m].n_candidates; i++) {
            const tc_sdp_candidate *c = &offer.media[m].candidates[i];
            int n = tc_sdp_write_candidate(c, line, sizeof line);
            if (n < 0)
                continue;
            tc_sdp_candidate back;
            assert(tc_sdp_parse_candidate(line, (size_t)n, &back) == 0);
            assert(back.transport == c->transport);
            assert(c->transport != TC_SDP_TCP || back.tcptype == c->tcptype);
            assert(back.port == c->port && strcmp(back.address, c->address) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_sdp_candidate c;
    if (tc_sdp_parse_candidate((const char *)data, size, &c) == 0) {
        assert(c.component >= 1 && c.address[0] != '\0');
        /* what may be probed with local addresses allowed includes what may without */
        assert(!tc_sdp_candidate_reachable(&c, false) || tc_sdp_candidate_reachable(&c, true));
        assert(c.port != 0 || !tc_sdp_candidate_reachable(&c, true));
    }
    if (tc_sdp_parse((const char *)data, size, &offer) == 0) {
        int t = tc_sdp_transport_media(&offer);
        assert(t < (int)offer.n_media);
        assert(t < 0 || tc_sdp_media_live(&offer, (unsigned)t));
        rebuild_candidates();
        answer_offer();
    }
    return 0;
}
