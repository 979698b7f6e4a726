/*
 * Unit tests of invite codes: the pure module (alphabet, generation, parsing,
 * hashing) and the router's issuing and redemption with both lockouts.
 */
#include "router_fixture.h"

#include "telecounter/invite.h"

#include <math.h>

#define ADDR "192.0.2.10"
/* "XXXX-XXXX-XXXX": 12 symbols and two dashes. (TC_INVITE_DISPLAY_LEN says 15,
 * one more than the display form has; buffers of it + 1 are merely roomy.) */
#define DISPLAY_CHARS (TC_INVITE_SYMBOLS + 2)

/* ---- the pure module --------------------------------------------------------- */

static void alphabet_has_31_unambiguous_symbols(void **state)
{
    (void)state;
    const char *al = TC_INVITE_ALPHABET;
    assert_int_equal(strlen(al), 31);
    for (const char *bad = "0O1IL"; *bad; bad++)
        assert_null(strchr(al, *bad));
    for (size_t i = 0; al[i]; i++) {
        assert_true((al[i] >= '2' && al[i] <= '9') || (al[i] >= 'A' && al[i] <= 'Z'));
        assert_null(strchr(al + i + 1, al[i])); /* no repeats */
    }
    /* 12 symbols: at least 40 bits (59.4) */
    double bits = TC_INVITE_SYMBOLS * log2(31.0);
    assert_true(bits >= 40.0);
    assert_true(bits > 59.0 && bits < 60.0);
}

static void generated_codes_are_well_formed(void **state)
{
    (void)state;
    for (int n = 0; n < 1000; n++) {
        char code[TC_INVITE_DISPLAY_LEN + 1];
        memset(code, 'x', sizeof code);
        tc_invite_generate(code);
        assert_int_equal(strlen(code), DISPLAY_CHARS);
        assert_int_equal(code[4], '-');
        assert_int_equal(code[9], '-');
        int symbols = 0;
        for (int i = 0; i < DISPLAY_CHARS; i++) {
            if (i == 4 || i == 9)
                continue;
            assert_non_null(strchr(TC_INVITE_ALPHABET, code[i]));
            assert_int_not_equal(code[i], '\0');
            symbols++;
        }
        assert_int_equal(symbols, TC_INVITE_SYMBOLS);
        char canon[TC_INVITE_SYMBOLS + 1], again[TC_INVITE_DISPLAY_LEN + 1];
        assert_int_equal(tc_invite_normalize(code, strlen(code), canon), 0);
        tc_invite_display(canon, again);
        assert_string_equal(again, code);
    }
}

static int cmp_codes(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void generated_codes_unique_and_uniform(void **state)
{
    (void)state;
    enum { N = 10000 };
    char(*codes)[TC_INVITE_SYMBOLS + 1] = calloc(N, sizeof *codes);
    assert_non_null(codes);
    static int counts[TC_INVITE_SYMBOLS][31];
    memset(counts, 0, sizeof counts);
    for (int n = 0; n < N; n++) {
        char display[TC_INVITE_DISPLAY_LEN + 1];
        tc_invite_generate(display);
        assert_int_equal(tc_invite_normalize(display, strlen(display), codes[n]), 0);
        for (int i = 0; i < TC_INVITE_SYMBOLS; i++)
            counts[i][strchr(TC_INVITE_ALPHABET, codes[n][i]) - TC_INVITE_ALPHABET]++;
    }
    qsort(codes, N, sizeof *codes, cmp_codes);
    for (int n = 1; n < N; n++)
        assert_string_not_equal(codes[n - 1], codes[n]);
    free(codes);
    /* Chi-square per position, 30 degrees of freedom: mean 30, sd ~7.7. A bound
     * of 100 is ~9 sd away (p < 1e-9), yet a constant or a stuck symbol scores
     * in the thousands. */
    double expected = N / 31.0;
    for (int i = 0; i < TC_INVITE_SYMBOLS; i++) {
        double chi2 = 0;
        for (int s = 0; s < 31; s++) {
            double d = counts[i][s] - expected;
            chi2 += d * d / expected;
            assert_true(counts[i][s] > 0);
        }
        assert_true(chi2 < 100.0);
    }
}

static void normalize_accepts_what_people_type(void **state)
{
    (void)state;
    char out[TC_INVITE_SYMBOLS + 1];
    const char *same[] = {
        "ABCD-EFGH-JKMN", "abcd-efgh-jkmn",      "ABCDEFGHJKMN",
        "abcd efgh jkmn", " aBcD--eFgH - jKmN ", "A-B-C-D-E-F-G-H-J-K-M-N",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        memset(out, 'x', sizeof out);
        assert_int_equal(tc_invite_normalize(same[i], strlen(same[i]), out), 0);
        assert_string_equal(out, "ABCDEFGHJKMN");
    }
    /* len bounds the input: the rest of the buffer is never read */
    assert_int_equal(tc_invite_normalize("ABCD-EFGH-JKMNPQ", 14, out), 0);
    assert_string_equal(out, "ABCDEFGHJKMN");
}

static void normalize_rejects_the_rest(void **state)
{
    (void)state;
    char out[TC_INVITE_SYMBOLS + 1];
    const char *bad[] = {
        "",
        "ABCD-EFGH-JKM",         /* 11 symbols */
        "ABCD-EFGH-JKMNP",       /* 13 */
        "ABCD-EFGH-JKM0",        /* zero */
        "ABCD-EFGH-JKMO",        /* letter O */
        "ABCD-EFGH-JKM1",        /* one */
        "ABCD-EFGH-JKMI",        /* I */
        "ABCD-EFGH-JKML",        /* L */
        "abcd-efgh-jkml",        /* l */
        "ABCD_EFGH_JKMN",        /* underscores */
        "ABCD\tEFGH\tJKMN",      /* tabs */
        "ABCD-EFGH-JKM\xc3\x89", /* É */
        "------------",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tc_invite_normalize(bad[i], strlen(bad[i]), out), -EINVAL);
    /* an embedded NUL is not the end of the input: len is */
    static const char nul_inside[] = "ABCD-EFGH-JKMN\0PQRS";
    assert_int_equal(tc_invite_normalize(nul_inside, sizeof nul_inside - 1, out), -EINVAL);
    static const char nul_middle[] = "ABCD-EF\0GH-JKMN";
    assert_int_equal(tc_invite_normalize(nul_middle, sizeof nul_middle - 1, out), -EINVAL);
    assert_int_equal(tc_invite_normalize("ABCD-EFGH-JKMN", 13, out), -EINVAL);
}

static void hashes_depend_on_key_code_and_locator(void **state)
{
    (void)state;
    uint8_t k1[TC_INVITE_KEY_LEN] = {1}, k2[TC_INVITE_KEY_LEN] = {2};
    uint8_t l1[32], c1[32], l2[32], c2[32], l3[32], c3[32], l4[32], c4[32];
    tc_invite_hash(k1, "ABCDEFGHJKMN", l1, c1);
    tc_invite_hash(k2, "ABCDEFGHJKMN", l2, c2);
    assert_false(tc_invite_hash_equal(l1, l2));
    assert_false(tc_invite_hash_equal(c1, c2));
    /* same locator, other secret: same locator hash, other code hash */
    tc_invite_hash(k1, "ABCDZZZZZZZZ", l3, c3);
    assert_true(tc_invite_hash_equal(l1, l3));
    assert_false(tc_invite_hash_equal(c1, c3));
    /* the locator is the first four symbols only */
    tc_invite_hash(k1, "ABCEFGHJKMNP", l4, c4);
    assert_false(tc_invite_hash_equal(l1, l4));
    /* a locator hash never equals a code hash */
    assert_false(tc_invite_hash_equal(l1, c1));
    /* deterministic */
    tc_invite_hash(k1, "ABCDEFGHJKMN", l4, c4);
    assert_true(tc_invite_hash_equal(l1, l4));
    assert_true(tc_invite_hash_equal(c1, c4));
    assert_memory_equal(c1, c4, 32);
}

/* ---- the router: issuing and redeeming --------------------------------------- */

static void issue(fx *f, const char *desk, int valid_s, int64_t now, char code[16],
                  int64_t *expires_at)
{
    assert_int_equal(tc_router_invite_create(f->r, 7, desk, "CASE-42", "lost SIM", valid_s, now,
                                             code, expires_at),
                     0);
}

static int redeem(fx *f, const char *code, const char *addr, int64_t now, tc_join_result *j,
                  int *retry)
{
    return tc_router_customer_redeem(f->r, code, strlen(code), addr, now, j, retry);
}

static void redeem_queues_at_the_head(void **state)
{
    fx *f = fx_of(state);
    int64_t c1 = fx_join(f, "urgent_sim", T0);
    char code[16];
    int64_t expires_at;
    issue(f, "urgent_sim", 0, T0, code, &expires_at);
    assert_int_equal(expires_at, T0 + 600 * SEC); /* invites.validity_s */
    assert_int_equal(strlen(code), DISPLAY_CHARS);

    tc_join_result j;
    int retry = -1;
    char typed[32];
    snprintf(typed, sizeof typed, " %s ", code);
    for (char *p = typed; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
    assert_int_equal(redeem(f, typed, ADDR, T0 + SEC, &j, &retry), 0);
    assert_int_equal(j.session.priority, 1);
    assert_int_equal(j.session.position, 1);
    assert_int_equal(j.session.state, TC_SESSION_QUEUED);
    assert_string_equal(j.session.desk, "urgent_sim");
    assert_string_equal(j.session.case_ref, "CASE-42");
    assert_string_equal(j.session.note, "lost SIM");
    assert_int_equal(fx_info(f, c1).position, 2);
    tc_session_row row;
    assert_int_equal(tc_store_session_get(f->store, j.session.id, &row), 0);
    assert_int_equal(row.priority, 1);
    assert_true(row.invite_id > 0);
    tc_invite_row inv;
    assert_int_equal(tc_store_invite_get(f->store, row.invite_id, &inv), 0);
    assert_int_equal(inv.redeemed_at, T0 + SEC);

    /* used once: the same code again is invalid */
    assert_int_equal(redeem(f, code, "192.0.2.99", T0 + 2 * SEC, &j, &retry), -ENOENT);
}

static void every_bad_code_is_the_same_error(void **state)
{
    fx *f = fx_of(state);
    char code[16];
    int64_t expires_at;
    issue(f, "broadband", 60, T0, code, &expires_at);
    assert_int_equal(expires_at, T0 + 60 * SEC);
    tc_join_result j;
    int retry;
    /* each from its own address, so the throttle stays out of it */
    assert_int_equal(redeem(f, code, "10.0.0.1", T0 + 60 * SEC, &j, &retry), -ENOENT); /* expired */
    assert_int_equal(redeem(f, "2345-6789-ABCD", "10.0.0.2", T0, &j, &retry), -ENOENT);
    assert_int_equal(redeem(f, "not a code", "10.0.0.3", T0, &j, &retry), -ENOENT);
    assert_int_equal(redeem(f, "", "10.0.0.4", T0, &j, &retry), -ENOENT);
    assert_int_equal(redeem(f, "OOOO-0000-1111", "10.0.0.5", T0, &j, &retry), -ENOENT);
    assert_int_equal(ev_count(f, EV_QUEUE) + ev_count(f, EV_RING), 0);

    /* issuing: unknown desk, validity out of range */
    assert_int_equal(tc_router_invite_create(f->r, 7, "nope", "C", "", 0, T0, code, &expires_at),
                     -ENOENT);
    assert_int_equal(
        tc_router_invite_create(f->r, 7, "broadband", "C", "", 86401, T0, code, &expires_at),
        -EINVAL);
    assert_int_equal(
        tc_router_invite_create(f->r, 7, "broadband", "C", "", -5, T0, code, &expires_at), -EINVAL);
    assert_int_equal(
        tc_router_invite_create(f->r, 7, "broadband", "C", "", 86400, T0, code, &expires_at), 0);
    assert_int_equal(expires_at, T0 + 86400 * SEC);
}

/* Issue 12: five wrong guesses sharing a live code's locator, from five
 * addresses, burned it, and the failure-count write made live locators visible by
 * timing. Now a failure writes nothing, the code stays valid, and ops hear of the
 * guessing once, from the tick. */
static void wrong_guesses_do_not_burn_the_code(void **state)
{
    fx *f = fx_of(state);
    char code[16];
    int64_t expires_at;
    issue(f, "broadband", 0, T0, code, &expires_at);
    tc_join_result j;
    int retry;
    int64_t audit_before = 0, audit_after = 0;
    assert_int_equal(tc_store_audit_count(f->store, 0, &audit_before), 0);
    for (int i = 0; i < 20; i++) {
        /* the real locator, a wrong secret */
        char guess[16];
        snprintf(guess, sizeof guess, "%.5s%s%c", code, code[5] == '2' ? "3333-333" : "2222-222",
                 TC_INVITE_ALPHABET[i]);
        assert_int_equal(strlen(guess), DISPLAY_CHARS);
        char addr[32];
        snprintf(addr, sizeof addr, "10.1.0.%d", i);
        assert_int_equal(redeem(f, guess, addr, T0 + i * SEC, &j, &retry), -ENOENT);
        /* the same failure as an unknown locator: nothing written */
        assert_int_equal(tc_store_audit_count(f->store, 0, &audit_after), 0);
        assert_int_equal(audit_after, audit_before);
    }
    tc_router_tick(f->r, T0 + 21 * SEC);
    assert_int_equal(tc_store_audit_count(f->store, 0, &audit_after), 0);
    assert_int_equal(audit_after, audit_before + 1); /* invite_guessed, once */
    tc_router_tick(f->r, T0 + 22 * SEC);
    assert_int_equal(tc_store_audit_count(f->store, 0, &audit_after), 0);
    assert_int_equal(audit_after, audit_before + 1);
    assert_int_equal(redeem(f, code, "10.1.1.1", T0 + 30 * SEC, &j, &retry), 0);
}

static void four_wrong_guesses_do_not_burn(void **state)
{
    fx *f = fx_of(state);
    char code[16];
    int64_t expires_at;
    issue(f, "broadband", 0, T0, code, &expires_at);
    tc_join_result j;
    int retry;
    for (int i = 0; i < 4; i++) {
        char guess[16];
        snprintf(guess, sizeof guess, "%.10s%s%c", code, code[10] == '2' ? "333" : "222",
                 TC_INVITE_ALPHABET[i]);
        assert_int_equal(strlen(guess), DISPLAY_CHARS);
        assert_int_equal(redeem(f, guess, ADDR, T0 + i * SEC, &j, &retry), -ENOENT);
    }
    assert_int_equal(redeem(f, code, ADDR, T0 + 10 * SEC, &j, &retry), 0);
}

static void failing_address_is_throttled(void **state)
{
    fx *f = fx_of(state);
    char code[16];
    int64_t expires_at;
    issue(f, "broadband", 3600, T0, code, &expires_at);
    tc_join_result j;
    int retry = 0;
    for (int i = 0; i < 10; i++)
        assert_int_equal(redeem(f, "2345-6789-ABCD", ADDR, T0 + i * SEC, &j, &retry), -ENOENT);
    /* the 11th is refused before the code is looked at, even a valid one */
    assert_int_equal(redeem(f, code, ADDR, T0 + 10 * SEC, &j, &retry), -EBUSY);
    assert_int_equal(retry, 590); /* the first failure leaves the 600 s window then */
    assert_int_equal(redeem(f, "2345-6789-ABCD", ADDR, T0 + 11 * SEC, &j, &retry), -EBUSY);
    assert_int_equal(retry, 589);

    /* the code was not spent; another address may use it */
    assert_int_equal(redeem(f, code, "192.0.2.77", T0 + 12 * SEC, &j, &retry), 0);

    /* once the window has passed, the address may try again */
    char code2[16];
    issue(f, "broadband", 3600, T0 + 20 * SEC, code2, &expires_at);
    tc_router_tick(f->r, T0 + 9 * SEC + 600 * SEC + 1);
    assert_int_equal(redeem(f, code2, ADDR, T0 + 9 * SEC + 600 * SEC + 1, &j, &retry), 0);
}

static void throttle_is_a_sliding_window(void **state)
{
    fx *f = fx_of(state);
    tc_join_result j;
    int retry = 0;
    /* nine failures early, one late: ten within 600 s only until the early ones age out */
    for (int i = 0; i < 9; i++)
        assert_int_equal(redeem(f, "2345-6789-ABCD", ADDR, T0 + i * SEC, &j, &retry), -ENOENT);
    assert_int_equal(redeem(f, "2345-6789-ABCD", ADDR, T0 + 500 * SEC, &j, &retry), -ENOENT);
    assert_int_equal(redeem(f, "2345-6789-ABCD", ADDR, T0 + 501 * SEC, &j, &retry), -EBUSY);
    assert_int_equal(retry, 99);
    /* no tick: at T0 + 600 s the first failure has left the window */
    assert_int_equal(redeem(f, "2345-6789-ABCD", ADDR, T0 + 600 * SEC, &j, &retry), -ENOENT);
    assert_int_equal(redeem(f, "2345-6789-ABCD", ADDR, T0 + 600 * SEC, &j, &retry), -EBUSY);
    assert_int_equal(retry, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alphabet_has_31_unambiguous_symbols),
        cmocka_unit_test_setup_teardown(generated_codes_are_well_formed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(generated_codes_unique_and_uniform, fx_setup, fx_teardown),
        cmocka_unit_test(normalize_accepts_what_people_type),
        cmocka_unit_test(normalize_rejects_the_rest),
        cmocka_unit_test(hashes_depend_on_key_code_and_locator),
        cmocka_unit_test_setup_teardown(redeem_queues_at_the_head, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(every_bad_code_is_the_same_error, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(wrong_guesses_do_not_burn_the_code, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(four_wrong_guesses_do_not_burn, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(failing_address_is_throttled, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(throttle_is_a_sliding_window, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
