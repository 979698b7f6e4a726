/* fuzz_image_sniff: the evidence upload's image check over arbitrary bytes: it
 * names JPEG or PNG only for bodies that start as those do, and never reads past
 * the input. */
/* The checks below are the oracle: keep them in release builds too. */
#undef NDEBUG
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "signal/image_sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *kind = tc_image_sniff(data, size);
    if (kind && strcmp(kind, "image/jpeg") == 0)
        assert(size >= 4 && data[0] == 0xff && data[1] == 0xd8);
    else if (kind)
        assert(strcmp(kind, "image/png") == 0 && size > 8 && data[0] == 0x89);
    return 0;
}
