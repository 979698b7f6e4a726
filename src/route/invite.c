#include "telecounter/invite.h"

#include "telecounter/random.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static const char alphabet[] = TC_INVITE_ALPHABET;

void tc_invite_generate(char out[TC_INVITE_DISPLAY_LEN + 1])
{
    char canon[TC_INVITE_SYMBOLS + 1];
    for (int i = 0; i < TC_INVITE_SYMBOLS; i++)
        canon[i] = alphabet[tc_random_below(sizeof alphabet - 1)];
    canon[TC_INVITE_SYMBOLS] = '\0';
    tc_invite_display(canon, out);
}

int tc_invite_normalize(const char *in, size_t len, char out[TC_INVITE_SYMBOLS + 1])
{
    int n = 0;
    for (size_t i = 0; i < len; i++) { /* len, not a NUL, ends the input */
        char c = in[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == '\0' || !memchr(alphabet, c, sizeof alphabet - 1) || n == TC_INVITE_SYMBOLS)
            return -EINVAL;
        out[n++] = c;
    }
    if (n != TC_INVITE_SYMBOLS)
        return -EINVAL;
    out[n] = '\0';
    return 0;
}

void tc_invite_display(const char canon[TC_INVITE_SYMBOLS + 1], char out[TC_INVITE_DISPLAY_LEN + 1])
{
    int o = 0;
    for (int i = 0; i < TC_INVITE_SYMBOLS; i++) {
        if (i > 0 && i % 4 == 0)
            out[o++] = '-';
        out[o++] = canon[i];
    }
    out[o] = '\0';
}

static void hmac(const uint8_t key[TC_INVITE_KEY_LEN], const char *domain, const char *msg,
                 size_t len, uint8_t out[TC_INVITE_HASH_LEN])
{
    /* The domain label keeps a locator hash from ever equalling a code hash. */
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, TC_INVITE_KEY_LEN);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)msg, len);
    crypto_auth_hmacsha256_final(&st, out);
}

void tc_invite_hash(const uint8_t key[TC_INVITE_KEY_LEN], const char canon[TC_INVITE_SYMBOLS + 1],
                    uint8_t locator_hash[TC_INVITE_HASH_LEN], uint8_t code_hash[TC_INVITE_HASH_LEN])
{
    hmac(key, "telecounter-invite-locator", canon, TC_INVITE_LOCATOR_LEN, locator_hash);
    hmac(key, "telecounter-invite-code", canon, TC_INVITE_SYMBOLS, code_hash);
}

bool tc_invite_hash_equal(const uint8_t a[TC_INVITE_HASH_LEN], const uint8_t b[TC_INVITE_HASH_LEN])
{
    return sodium_memcmp(a, b, TC_INVITE_HASH_LEN) == 0;
}
