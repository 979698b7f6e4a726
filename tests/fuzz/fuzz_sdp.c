/* fuzz_sdp: parse an offer; when it parses, check it, choose codecs, write
 * the answer, and require the answer to parse again. The input is also fed
 * to the stand-alone candidate parser, as a trickled candidate would be. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_sdp_candidate c;
    if (tc_sdp_parse_candidate((const char *)data, size, &c) == 0)
        assert(c.component >= 1 && c.address[0] != '\0');
    if (tc_sdp_parse((const char *)data, size, &offer) == 0)
        answer_offer();
    return 0;
}
