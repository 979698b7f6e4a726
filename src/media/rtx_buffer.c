/* rtx_buffer: packets packed in a preallocated byte store; see rtx_buffer.h. */
#include "telecounter/rtx_buffer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TC_RTX_BUFFER_MAX_BYTES (64u << 20)

typedef struct {
    uint64_t pos; /* where in the byte stream put has written the packet */
    uint16_t seq;
    uint16_t len; /* 0 = empty */
} slot;

struct tc_rtx_buffer {
    size_t capacity; /* slots */
    size_t max_packet_len;
    size_t bytes;    /* size of data */
    bool any;        /* has anything been put since create or clear */
    uint16_t newest; /* valid when any */
    uint64_t head;   /* bytes ever written (skipped tails included); data[head % bytes] is next */
    slot *slots;
    uint8_t *data;
};

tc_rtx_buffer *tc_rtx_buffer_create(size_t capacity, size_t max_packet_len, size_t bytes)
{
    if (capacity == 0 || capacity > 32768 || (capacity & (capacity - 1)) != 0)
        return NULL;
    if (max_packet_len == 0 || max_packet_len > UINT16_MAX)
        return NULL;
    if (bytes < max_packet_len || bytes > TC_RTX_BUFFER_MAX_BYTES)
        return NULL;
    tc_rtx_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->capacity = capacity;
    b->max_packet_len = max_packet_len;
    b->bytes = bytes;
    b->slots = calloc(capacity, sizeof *b->slots);
    b->data = malloc(bytes);
    if (!b->slots || !b->data) {
        tc_rtx_buffer_destroy(b);
        return NULL;
    }
    return b;
}

void tc_rtx_buffer_destroy(tc_rtx_buffer *b)
{
    if (!b)
        return;
    free(b->slots);
    free(b->data);
    free(b);
}

void tc_rtx_buffer_clear(tc_rtx_buffer *b)
{
    memset(b->slots, 0, b->capacity * sizeof *b->slots);
    b->any = false;
}

/* How far seq is behind the newest, modulo 2^16; "ahead" shows up as a
 * distance above 32767. */
static uint16_t behind(const tc_rtx_buffer *b, uint16_t seq)
{
    return (uint16_t)(b->newest - seq);
}

/* Moves the window forward to seq. Slots of the seqs jumped over still hold
 * packets from a lap (or more) ago; empty them so that no get can ever find
 * a packet under a seq it was not sent with, however the sender jumps. */
static void advance(tc_rtx_buffer *b, uint16_t seq)
{
    uint16_t ahead = (uint16_t)(seq - b->newest);
    if (ahead >= b->capacity) {
        memset(b->slots, 0, b->capacity * sizeof *b->slots);
    } else {
        for (uint16_t s = (uint16_t)(b->newest + 1); s != seq; s++)
            b->slots[s & (b->capacity - 1)].len = 0;
    }
    b->newest = seq;
}

int tc_rtx_buffer_put(tc_rtx_buffer *b, uint16_t seq, const uint8_t *data, size_t len)
{
    if (len == 0)
        return -EINVAL;
    if (len > b->max_packet_len)
        return -E2BIG;
    if (b->any) {
        uint16_t d = behind(b, seq);
        if (d >= 32768)
            advance(b, seq);
        else if (d >= b->capacity)
            return -ESTALE;
    } else {
        b->newest = seq;
        b->any = true;
    }
    size_t at = (size_t)(b->head % b->bytes);
    if (at + len > b->bytes) { /* no room before the end: start over at 0 */
        b->head += b->bytes - at;
        at = 0;
    }
    memcpy(b->data + at, data, len);
    slot *s = &b->slots[seq & (b->capacity - 1)];
    s->pos = b->head;
    s->seq = seq;
    s->len = (uint16_t)len;
    b->head += len;
    return 0;
}

int tc_rtx_buffer_get(const tc_rtx_buffer *b, uint16_t seq, const uint8_t **data, size_t *len)
{
    if (!b->any || behind(b, seq) >= b->capacity)
        return -ENOENT;
    const slot *s = &b->slots[seq & (b->capacity - 1)];
    if (s->len == 0 || s->seq != seq)
        return -ENOENT;
    /* Still intact only if nothing written since has come round to it. */
    if (b->head - s->pos > b->bytes)
        return -ENOENT;
    *data = b->data + s->pos % b->bytes;
    *len = s->len;
    return 0;
}
