/* sdp_internal: string views and token helpers shared by the sdp_*.c files
 * (private to src/media). A view is a (pointer, length) into the caller's
 * text; nothing here allocates or needs a NUL terminator. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telecounter/sdp.h"

typedef struct {
    const char *p;
    size_t len;
} tc_sv;

tc_sv tc_sv_make(const char *p, size_t len);
/* The next token of *rest split on sep (runs of sep are skipped); *rest
 * moves past it. An empty view when nothing is left. */
tc_sv tc_sv_token(tc_sv *rest, char sep);
/* Leading and trailing spaces and tabs removed. */
tc_sv tc_sv_trim(tc_sv v);
bool tc_sv_eq(tc_sv v, const char *s);
bool tc_sv_ieq(tc_sv v, const char *s);
/* If v starts with prefix, drops it and returns true. */
bool tc_sv_skip_prefix(tc_sv *v, const char *prefix);
/* Copies into dst[cap] with a NUL: -EINVAL if empty, -E2BIG if it does not
 * fit. */
int tc_sv_copy(tc_sv v, char *dst, size_t cap);
/* tc_sv_copy, and -EINVAL if v holds a space or tab. */
int tc_sv_copy_token(tc_sv v, char *dst, size_t cap);
/* Decimal, digits only, at most max: 0 or -EINVAL. */
int tc_sv_u32(tc_sv v, uint32_t max, uint32_t *out);
/* True if every byte is printable (no control bytes, no DEL). */
bool tc_sv_printable(tc_sv v);

/* sdp_media.c: one media-level attribute (not a transport one). */
int tc_sdp_media_attr(tc_sv name, tc_sv v, tc_sdp *sdp, tc_sdp_media *m);

int tc_sdp_parse_fingerprint(tc_sv value, tc_sdp_fingerprint *fp);
bool tc_sdp_ieq(const char *a, const char *b);
