/* fuzz_invite: normalize what a customer typed; when it is accepted, the result
 * is 12 symbols of the alphabet that display and normalize back to themselves,
 * and hashing it is defined. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telecounter/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_invite: check failed: %s\n", #cond);                             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so that reading past len is caught */
    char *in = malloc(size ? size : 1);
    CHECK(in != NULL);
    memcpy(in, data, size);
    char canon[TC_INVITE_SYMBOLS + 1];
    memset(canon, 'x', sizeof canon);
    int rc = tc_invite_normalize(in, size, canon);
    if (rc == 0) {
        CHECK(strlen(canon) == TC_INVITE_SYMBOLS);
        for (int i = 0; i < TC_INVITE_SYMBOLS; i++)
            CHECK(strchr(TC_INVITE_ALPHABET, canon[i]) != NULL);
        CHECK(memchr(in, '\0', size) == NULL);
        char display[TC_INVITE_DISPLAY_LEN + 1], again[TC_INVITE_SYMBOLS + 1];
        tc_invite_display(canon, display);
        CHECK(tc_invite_normalize(display, strlen(display), again) == 0);
        CHECK(strcmp(again, canon) == 0);
        static const uint8_t key[TC_INVITE_KEY_LEN] = {7};
        uint8_t locator[TC_INVITE_HASH_LEN], code[TC_INVITE_HASH_LEN];
        tc_invite_hash(key, canon, locator, code);
        CHECK(!tc_invite_hash_equal(locator, code));
    } else {
        CHECK(rc < 0);
    }
    free(in);
    return 0;
}
