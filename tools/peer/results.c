/*
 * results.c: a peer's results as one JSON object (the line tc-testpeer
 * prints, and what a load generator aggregates).
 */
#include "peer.h"

#include "faults.h"

static json_t *audio_json(const tc_peer_media_stats *m)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I}", "sent", (json_int_t)m->audio_sent,
                     "received", (json_int_t)m->audio_received, "lost", (json_int_t)m->audio_lost,
                     "decoded_frames", (json_int_t)m->audio_decoded_frames, "dominant_hz",
                     m->dominant_hz, "tone_windows", (json_int_t)m->tone_windows, "hold_packets",
                     (json_int_t)m->hold_audio_packets, "hold_voiced_windows",
                     (json_int_t)m->hold_audio_voiced);
}

static json_t *video_json(const tc_peer_media_stats *m)
{
    json_t *v =
        json_pack("{s:I, s:I, s:I, s:f, s:I, s:I}", "sent", (json_int_t)m->video_sent, "received",
                  (json_int_t)m->video_received, "lost", (json_int_t)m->video_lost, "loss",
                  m->video_loss, "frames_sent", (json_int_t)m->video_frames_sent, "bytes_sent",
                  (json_int_t)m->video_bytes_sent);
    json_object_set_new(v, "keyframes_sent", json_integer((json_int_t)m->keyframes_sent));
    json_object_set_new(v, "keyframes_received", json_integer((json_int_t)m->keyframes_received));
    json_object_set_new(v, "rtx_received", json_integer((json_int_t)m->rtx_received));
    json_object_set_new(v, "rtx_osn_checked", json_integer((json_int_t)m->rtx_osn_checked));
    json_object_set_new(v, "rtx_osn_wrong", json_integer((json_int_t)m->rtx_osn_wrong));
    json_object_set_new(v, "rtx_ts_wrong", json_integer((json_int_t)m->rtx_ts_wrong));
    json_object_set_new(v, "latency_p50_us", json_integer(m->latency_p50_us));
    json_object_set_new(v, "latency_p99_us", json_integer(m->latency_p99_us));
    json_object_set_new(v, "latency_max_us", json_integer(m->latency_max_us));
    return v;
}

static json_t *rtcp_json(const tc_peer_media_stats *m)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "received", (json_int_t)m->rtcp_received,
                     "plis_received", (json_int_t)m->plis_received, "firs_received",
                     (json_int_t)m->firs_received, "plis_sent", (json_int_t)m->plis_sent);
}

json_t *tc_peer_results_json(const tc_peer_results *r)
{
    const tc_peer_media_stats *m = &r->media;
    json_t *o = json_pack("{s:s, s:b, s:s, s:I, s:b, s:s}", "role", r->role, "ok", r->ok, "error",
                          r->error, "session_id", (json_int_t)r->session_id, "answered",
                          r->answered, "media_state", r->media_state);
    json_object_set_new(o, "offered_after_answer", json_boolean(r->offered_after_answer));
    json_object_set_new(o, "ice_connected", json_boolean(m->ice_connected));
    json_object_set_new(o, "dtls_connected", json_boolean(m->dtls_connected));
    json_object_set_new(o, "ice_pair", json_string(m->ice_pair));
    json_object_set_new(o, "srtp_profile", json_string(m->srtp_profile));
    json_object_set_new(o, "offer_to_dtls_ms", json_integer(m->offer_to_dtls_ms));
    json_object_set_new(o, "answer_to_video_ms", json_integer(m->answer_to_video_ms));
    json_object_set_new(o, "srtp_errors", json_integer((json_int_t)m->srtp_errors));
    json_object_set_new(o, "audio", audio_json(m));
    json_object_set_new(o, "video", video_json(m));
    json_object_set_new(o, "rtcp", rtcp_json(m));
    /* reconnect scenarios */
    json_object_set_new(o, "token", json_string(r->token));
    json_object_set_new(o, "end_reason", json_string(r->end_reason));
    json_object_set_new(o, "ended_at_ms", json_integer(r->ended_at_ms));
    json_object_set_new(o, "media_states", json_string(r->media_states));
    if (r->mark.set)
        json_object_set_new(o, "after_mark",
                            json_pack("{s:I, s:I, s:I}", "at_ms", (json_int_t)r->mark.at_ms,
                                      "audio_received", (json_int_t)r->mark.audio_received,
                                      "video_received", (json_int_t)r->mark.video_received));
    /* negotiation */
    json_object_set_new(o, "offer_video", json_boolean(r->offer_video));
    json_object_set_new(o, "reoffer_answered", json_boolean(r->reoffer_answered));
    json_object_set_new(o, "reoffer_same_ice", json_boolean(r->reoffer_same_ice));
    json_object_set_new(o, "call_media", json_string(r->call_media));
    json_t *faults = tc_faults_json(r); /* fault scenarios only */
    if (faults)
        json_object_set_new(o, "faults", faults);
    return o;
}
