/* fuzz_demux: classify any datagram, then hand it to the parser its class
 * names, as the leg's receive path does. */
/* The checks below are the oracle: keep them in release builds too. */
#undef NDEBUG
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "telecounter/demux.h"
#include "telecounter/rtcp.h"
#include "telecounter/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_demux_kind k = tc_demux_classify(data, size);
    assert(tc_demux_name(k) != NULL);
    if (k == TC_DEMUX_RTP) {
        tc_rtp_header h;
        if (tc_rtp_parse(data, size, &h) == 0)
            assert(h.header_len + h.payload_len + h.padding_len == size);
    } else if (k == TC_DEMUX_RTCP) {
        (void)tc_rtcp_validate(data, size);
    } else if (size > 0) {
        assert(data[0] < 128 || data[0] > 191 || size < 2);
    }
    return 0;
}
