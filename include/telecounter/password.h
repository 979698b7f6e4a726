/*
 * password: account password hashing with Argon2id (libsodium crypto_pwhash_str,
 * "interactive" limits: ~64 MiB and tens of milliseconds). Pure; any thread.
 * The control thread runs tc_password_verify on a worker thread so that a login
 * never stalls the main loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TC_PASSWORD_HASH_MAX 128

/* Writes the encoded hash (with salt and parameters) into out; -EINVAL for an
 * empty or over-long (> 1024 bytes) password, -ENOMEM if the KDF failed. */
int tc_password_hash(const char *password, char out[TC_PASSWORD_HASH_MAX]);
/* true when password matches hash; false for anything else, including a bad hash. */
bool tc_password_verify(const char *hash, const char *password);
