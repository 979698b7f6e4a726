/*
 * Unit tests of the configuration: defaults, a file that sets every kind of key,
 * and each way a file or the environment can be wrong (the error must name the
 * key). Files are written to /tmp and removed; TC_INVITE_KEY is unset after
 * every test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telecounter/config.h"
#include "telecounter/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

typedef struct fixture {
    char path[64];
    tc_config cfg;
    char err[2048];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->path, sizeof f->path, "/tmp/tc-config-test-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0) {
        free(f);
        return -1;
    }
    close(fd);
    unsetenv("TC_INVITE_KEY");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    unsetenv("TC_INVITE_KEY");
    free(f);
    return 0;
}

static int load(fixture *f, const char *text)
{
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    memset(f->err, 0, sizeof f->err);
    return tc_config_load(&f->cfg, f->path, f->err, sizeof f->err);
}

/* The load fails with -EINVAL and a message that names key. */
static void expect_invalid(fixture *f, const char *text, const char *key)
{
    int rc = load(f, text);
    if (rc != -EINVAL)
        fail_msg("expected -EINVAL for \"%s\", got %d", text, rc);
    if (!strstr(f->err, key))
        fail_msg("error \"%s\" does not name %s", f->err, key);
}

static void check_defaults(const tc_config *c)
{
    assert_string_equal(c->address, "127.0.0.1");
    assert_int_equal(c->port, 8443);
    assert_string_equal(c->public_url, "https://localhost:8443");
    assert_string_equal(c->tls_cert, "certs/dev-cert.pem");
    assert_string_equal(c->tls_key, "certs/dev-key.pem");
    assert_string_equal(c->web_root, "web");
    assert_string_equal(c->allowed_origins, "");
    assert_true(c->io_uring);
    assert_int_equal(c->log_level, TC_LOG_INFO);
    assert_string_equal(c->db_path, "var/telecounter.db");
    assert_int_equal(c->desk_count, 3);
    assert_string_equal(c->desks[0], "id_check");
    assert_string_equal(c->desks[1], "broadband");
    assert_string_equal(c->desks[2], "urgent_sim");
    assert_int_equal(c->assignment, TC_ASSIGN_LONGEST_IDLE);
    assert_int_equal(c->ring_timeout_s, 20);
    assert_int_equal(c->after_call_work_s, 60);
    assert_int_equal(c->resume_window_s, 60);
    assert_int_equal(c->wait_estimate_default_s, 180);
    assert_int_equal(c->invite_validity_s, 600);
    assert_int_equal(c->invite_max_validity_s, 86400);
    assert_int_equal(c->invite_max_attempts, 5);
    assert_int_equal(c->invite_address_failures, 10);
    assert_int_equal(c->invite_address_window_s, 600);
    assert_string_equal(c->invite_key_hex, "");
    assert_int_equal(c->max_message_bytes, 65536);
    assert_int_equal(c->messages_per_s, 20);
    assert_int_equal(c->message_burst, 40);
    assert_int_equal(c->connections_per_address, 20);
    assert_int_equal(c->idle_timeout_s, 60);
    assert_int_equal(c->auth_token_ttl_s, 43200);
    assert_int_equal(c->service_level_s, 20);
    assert_int_equal(c->media_workers, 0);
}

static void defaults(void **state)
{
    fixture *f = *state;
    memset(&f->cfg, 0x5a, sizeof f->cfg);
    tc_config_defaults(&f->cfg);
    check_defaults(&f->cfg);
    assert_int_equal(tc_config_desk_index(&f->cfg, "broadband"), 1);
    assert_int_equal(tc_config_desk_index(&f->cfg, "nope"), -1);
    assert_int_equal(tc_config_desk_index(&f->cfg, ""), -1);

    /* no file: the defaults; an empty file: the defaults too */
    assert_int_equal(tc_config_load(&f->cfg, NULL, f->err, sizeof f->err), 0);
    check_defaults(&f->cfg);
    assert_int_equal(load(f, ""), 0);
    check_defaults(&f->cfg);
}

/* Lines of f->err. */
static int err_lines(const fixture *f)
{
    int n = f->err[0] != '\0';
    for (const char *p = f->err; *p; p++)
        n += *p == '\n';
    return n;
}

/* A misspelt key or group would leave its default in force without a word. */
static void unknown_names_are_errors(void **state)
{
    fixture *f = *state;
    expect_invalid(f, "[routing]\nfuture_key = 3\n", "routing.future_key: unknown key");
    expect_invalid(f, "[nosuch]\nx = y\n", "[nosuch]: unknown group");
    expect_invalid(f, "[server]\nprot = 8443\n",
                   "server.prot: unknown key (did you mean server.port?)");
    expect_invalid(f, "[server]\nlevel = debug\n", "(did you mean log.level?)");
    expect_invalid(f, "[serer]\nport = 1\n", "[serer]: unknown group (did you mean [server]?)");
    expect_invalid(f, "[media]\nworker = 2\n", "(did you mean media.workers?)");
    /* far from every name: no guess */
    assert_int_equal(load(f, "[server]\nzzzzzzzz = 1\n"), -EINVAL);
    assert_null(strstr(f->err, "did you mean"));
    /* every key of the example file is known */
    char path[600];
    /* CMake compiles with the absolute path: tests/unit/core/test_config.c */
    snprintf(path, sizeof path, "%s", __FILE__);
    for (int up = 0; up < 4; up++)
        *strrchr(path, '/') = '\0';
    strcat(path, "/telecounter.conf.example");
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    char text[16384] = "", line[512];
    while (fgets(line, sizeof line, in)) {
        /* "#key = value" lines are the documented keys: uncomment them */
        const char *l = line[0] == '#' && line[1] != ' ' && line[1] != '\n' ? line + 1 : line;
        strncat(text, l, sizeof text - strlen(text) - 1);
    }
    fclose(in);
    int rc = load(f, text);
    if (rc)
        fail_msg("telecounter.conf.example uncommented: %s", f->err);
}

static void every_error_is_reported(void **state)
{
    fixture *f = *state;
    int rc = load(f, "[server]\naddress = nope\nport = 0\nprot = 1\nio_uring = maybe\n"
                     "[log]\nlevel = loud\n[routing]\nassignment = fifo\ndesks = A\n"
                     "[bogus]\nx = 1\n[invites]\nkey = abc\n");
    assert_int_equal(rc, -EINVAL);
    const char *names[] = {"server.address",  "server.port", "server.prot",
                           "server.io_uring", "log.level",   "routing.assignment",
                           "routing.desks",   "[bogus]",     "invites.key"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(f->err, names[i]))
            fail_msg("%s missing from:\n%s", names[i], f->err);
    assert_int_equal(err_lines(f), 9);
    /* a buffer too small for them all: cut, terminated, still -EINVAL */
    char small[40];
    memset(small, 'x', sizeof small);
    assert_int_equal(tc_config_load(&f->cfg, f->path, small, sizeof small), -EINVAL);
    assert_true(memchr(small, '\0', sizeof small) != NULL);
}

static void address_must_be_an_ip_literal(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"nope", "localhost", "1.2.3", "256.1.1.1", "::1::", "", "127.0.0.1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[server]\naddress = %s\n", bad[i]);
        expect_invalid(f, text, "server.address");
    }
    const char *good[] = {"127.0.0.1", "0.0.0.0", "::1", "::", "10.203.0.1", "fe80::1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[server]\naddress = %s\n", good[i]);
        if (load(f, text) != 0)
            fail_msg("%s: %s", good[i], f->err);
        assert_string_equal(f->cfg.address, good[i]);
    }
}

static void write_file(const char *path)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("x\n", fp);
    fclose(fp);
}

/* The files the server needs are checked before it starts, all at once. */
static void files_on_disk_are_checked(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/tc-config-files-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    tc_config_defaults(&f->cfg);
    snprintf(f->cfg.tls_cert, sizeof f->cfg.tls_cert, "%s/cert.pem", dir);
    snprintf(f->cfg.tls_key, sizeof f->cfg.tls_key, "%s/key.pem", dir);
    snprintf(f->cfg.web_root, sizeof f->cfg.web_root, "%s/web", dir);
    snprintf(f->cfg.db_path, sizeof f->cfg.db_path, "%s/var/tc.db", dir);
    assert_int_equal(tc_config_check_files(&f->cfg, f->err, sizeof f->err), -EINVAL);
    assert_int_equal(err_lines(f), 4);
    assert_non_null(strstr(f->err, "server.tls_cert: cannot read"));
    assert_non_null(strstr(f->err, "server.tls_key: cannot read"));
    assert_non_null(strstr(f->err, "server.web_root"));
    assert_non_null(strstr(f->err, "store.path"));

    write_file(f->cfg.tls_cert);
    write_file(f->cfg.tls_key);
    snprintf(path, sizeof path, "%s/var", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file(f->cfg.web_root); /* a file where a directory belongs */
    assert_int_equal(tc_config_check_files(&f->cfg, f->err, sizeof f->err), -EINVAL);
    assert_int_equal(err_lines(f), 1);
    assert_non_null(strstr(f->err, "server.web_root: "));
    assert_non_null(strstr(f->err, "is not a directory"));
    unlink(f->cfg.web_root);
    assert_int_equal(mkdir(f->cfg.web_root, 0700), 0);
    if (tc_config_check_files(&f->cfg, f->err, sizeof f->err) != 0)
        fail_msg("all present: %s", f->err);
    snprintf(f->cfg.db_path, sizeof f->cfg.db_path, ":memory:");
    assert_int_equal(tc_config_check_files(&f->cfg, f->err, sizeof f->err), 0);

    unlink(f->cfg.tls_cert);
    unlink(f->cfg.tls_key);
    rmdir(f->cfg.web_root);
    rmdir(path);
    rmdir(dir);
}

static void a_file_sets_every_kind_of_key(void **state)
{
    fixture *f = *state;
    const char *text = "# every key\n"
                       "[server]\naddress = 0.0.0.0\nport = 9443\n"
                       "public_url = https://tc.example\ntls_cert = /c.pem\ntls_key = /k.pem\n"
                       "web_root = /srv/web\nallowed_origins = https://a.example,https://b\n"
                       "io_uring = false\n"
                       "[log]\nlevel = debug\n"
                       "[store]\npath = /var/lib/tc.db\n"
                       "[routing]\ndesks = sales , support_2,vip\nassignment = random\n"
                       "ring_timeout_s = 3\nafter_call_work_s = 0\nresume_window_s = 3600\n"
                       "wait_estimate_default_s = 36000\n"
                       "[invites]\nvalidity_s = 30\nmax_validity_s = 604800\nmax_attempts = 1\n"
                       "address_failures = 10000\naddress_window_s = 86400\nkey = " KEY_A "\n"
                       "[limits]\nmax_message_bytes = 1024\nmessages_per_s = 10000\n"
                       "message_burst = 100000\nconnections_per_address = 1000000\n"
                       "idle_timeout_s = 5\nauth_token_ttl_s = 60\n"
                       "[ops]\nservice_level_s = 3600\n"
                       "[media]\nworkers = 256\n";
    int rc = load(f, text);
    if (rc)
        fail_msg("load: %s", f->err);
    const tc_config *c = &f->cfg;
    assert_string_equal(c->address, "0.0.0.0");
    assert_int_equal(c->port, 9443);
    assert_string_equal(c->public_url, "https://tc.example");
    assert_string_equal(c->tls_cert, "/c.pem");
    assert_string_equal(c->tls_key, "/k.pem");
    assert_string_equal(c->web_root, "/srv/web");
    assert_string_equal(c->allowed_origins, "https://a.example,https://b");
    assert_false(c->io_uring);
    assert_int_equal(c->log_level, TC_LOG_DEBUG);
    assert_string_equal(c->db_path, "/var/lib/tc.db");
    assert_int_equal(c->desk_count, 3);
    assert_string_equal(c->desks[0], "sales");
    assert_string_equal(c->desks[1], "support_2");
    assert_string_equal(c->desks[2], "vip");
    assert_int_equal(tc_config_desk_index(c, "vip"), 2);
    assert_int_equal(tc_config_desk_index(c, "broadband"), -1);
    assert_int_equal(c->assignment, TC_ASSIGN_RANDOM);
    assert_int_equal(c->ring_timeout_s, 3);
    assert_int_equal(c->after_call_work_s, 0);
    assert_int_equal(c->resume_window_s, 3600);
    assert_int_equal(c->wait_estimate_default_s, 36000);
    assert_int_equal(c->invite_validity_s, 30);
    assert_int_equal(c->invite_max_validity_s, 604800);
    assert_int_equal(c->invite_max_attempts, 1);
    assert_int_equal(c->invite_address_failures, 10000);
    assert_int_equal(c->invite_address_window_s, 86400);
    assert_string_equal(c->invite_key_hex, KEY_A);
    assert_int_equal(c->max_message_bytes, 1024);
    assert_int_equal(c->messages_per_s, 10000);
    assert_int_equal(c->message_burst, 100000);
    assert_int_equal(c->connections_per_address, 1000000);
    assert_int_equal(c->idle_timeout_s, 5);
    assert_int_equal(c->auth_token_ttl_s, 60);
    assert_int_equal(c->service_level_s, 3600);
    assert_int_equal(c->media_workers, 256);

    assert_int_equal(load(f, "[log]\nlevel = warn\n[routing]\nassignment = longest_idle\n"), 0);
    assert_int_equal(f->cfg.log_level, TC_LOG_WARN);
    assert_int_equal(f->cfg.assignment, TC_ASSIGN_LONGEST_IDLE);
    /* sixteen desks is the most */
    assert_int_equal(load(f, "[routing]\ndesks = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\n"), 0);
    assert_int_equal(f->cfg.desk_count, 16);
    assert_string_equal(f->cfg.desks[15], "p");
}

static void bad_numbers_name_the_key(void **state)
{
    fixture *f = *state;
    expect_invalid(f, "[routing]\nring_timeout_s = 2\n", "routing.ring_timeout_s");
    expect_invalid(f, "[routing]\nring_timeout_s = 301\n", "routing.ring_timeout_s");
    expect_invalid(f, "[routing]\nafter_call_work_s = -1\n", "routing.after_call_work_s");
    expect_invalid(f, "[server]\nport = 0\n", "server.port");
    expect_invalid(f, "[server]\nport = 65536\n", "server.port");
    expect_invalid(f, "[server]\nport = eighty\n", "server.port");
    expect_invalid(f, "[server]\nport = 99999999999999\n", "server.port");
    expect_invalid(f, "[media]\nworkers = 257\n", "media.workers");
    expect_invalid(f, "[limits]\nmax_message_bytes = 1023\n", "limits.max_message_bytes");
    expect_invalid(f, "[invites]\nmax_attempts = 0\n", "invites.max_attempts");
    expect_invalid(f, "[invites]\nvalidity_s = 7200\nmax_validity_s = 3600\n",
                   "invites.validity_s");
}

static void bad_choices_name_the_key(void **state)
{
    fixture *f = *state;
    expect_invalid(f, "[routing]\ndesks = Broadband\n", "routing.desks");
    expect_invalid(f, "[routing]\ndesks = id-check\n", "routing.desks");
    expect_invalid(f, "[routing]\ndesks = a b\n", "routing.desks");
    expect_invalid(f, "[routing]\ndesks = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "routing.desks");
    expect_invalid(f, "[routing]\ndesks = ,\n", "routing.desks");
    expect_invalid(f, "[routing]\ndesks = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", "routing.desks");
    expect_invalid(f, "[log]\nlevel = verbose\n", "log.level");
    expect_invalid(f, "[routing]\nassignment = round_robin\n", "routing.assignment");
    char long_address[128] = "[server]\naddress = ";
    memset(long_address + strlen(long_address), '1', 64);
    strcat(long_address, "\n");
    expect_invalid(f, long_address, "server.address");
}

static void invite_key_from_file_and_environment(void **state)
{
    fixture *f = *state;
    expect_invalid(f, "[invites]\nkey = abc\n", "invites.key");
    expect_invalid(f, "[invites]\nkey = " KEY_A "0\n", "invites.key");
    char not_hex[] = "[invites]\nkey = " KEY_A "\n";
    not_hex[strlen("[invites]\nkey = ") + 10] = 'g';
    expect_invalid(f, not_hex, "invites.key");

    /* the environment overrides the file */
    setenv("TC_INVITE_KEY", KEY_B, 1);
    assert_int_equal(load(f, "[invites]\nkey = " KEY_A "\n"), 0);
    assert_string_equal(f->cfg.invite_key_hex, KEY_B);
    assert_int_equal(tc_config_load(&f->cfg, NULL, f->err, sizeof f->err), 0);
    assert_string_equal(f->cfg.invite_key_hex, KEY_B);

    /* an empty variable is as good as none */
    setenv("TC_INVITE_KEY", "", 1);
    assert_int_equal(load(f, "[invites]\nkey = " KEY_A "\n"), 0);
    assert_string_equal(f->cfg.invite_key_hex, KEY_A);
}

/* A key longer than 64 characters must not be cut to 64 and accepted: a
 * mistyped or doubled key would silently become another key. */
static void bad_invite_key_in_environment(void **state)
{
    fixture *f = *state;
    const char *bad[] = {
        "abcdef",    KEY_B "0", /* 65 characters */
        KEY_B "00",             /* 66 */
        KEY_B KEY_B, "zz" KEY_B,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("TC_INVITE_KEY", bad[i], 1);
        int rc = tc_config_load(&f->cfg, NULL, f->err, sizeof f->err);
        if (rc != -EINVAL)
            fail_msg("TC_INVITE_KEY of %zu characters: expected -EINVAL, got %d", strlen(bad[i]),
                     rc);
        assert_non_null(strstr(f->err, "TC_INVITE_KEY"));
    }
}

static void missing_or_broken_file(void **state)
{
    fixture *f = *state;
    int rc = tc_config_load(&f->cfg, "/nonexistent/tc.conf", f->err, sizeof f->err);
    assert_true(rc < 0);
    assert_non_null(strstr(f->err, "/nonexistent/tc.conf"));
    rc = load(f, "this is not a key file\n[unclosed\n");
    assert_true(rc < 0);
    assert_true(strlen(f->err) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_sets_every_kind_of_key, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_names_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(every_error_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(address_must_be_an_ip_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(files_on_disk_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_numbers_name_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_choices_name_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(invite_key_from_file_and_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_invite_key_in_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_or_broken_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
