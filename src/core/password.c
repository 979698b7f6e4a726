#include "telecounter/password.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define PASSWORD_MAX_BYTES 1024

int tc_password_hash(const char *password, char out[TC_PASSWORD_HASH_MAX])
{
    size_t len = strlen(password);
    if (len == 0 || len > PASSWORD_MAX_BYTES)
        return -EINVAL;
    _Static_assert(crypto_pwhash_STRBYTES <= TC_PASSWORD_HASH_MAX, "hash buffer too small");
    if (crypto_pwhash_str(out, password, len, TC_PASSWORD_OPSLIMIT, TC_PASSWORD_MEMLIMIT) != 0)
        return -ENOMEM;
    return 0;
}

bool tc_password_verify(const char *hash, const char *password)
{
    size_t len = strlen(password);
    if (len == 0 || len > PASSWORD_MAX_BYTES)
        return false;
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}
