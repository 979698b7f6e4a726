/*
 * telecounter-admin: the operator's command line for accounts and session
 * records. It opens the same SQLite file as the server (WAL lets both run at
 * once) and goes through the store module only; it never speaks SQL.
 *
 * Everything a user can get wrong on the command line is checked before the
 * database is opened, so a typo never creates or touches a database file.
 * Exit codes: 0 done, 1 runtime failure, 2 usage error; every failure prints
 * one line on stderr.
 */
#include "build_info.h"
#include "telecounter/clock.h"
#include "telecounter/config.h"
#include "telecounter/log.h"
#include "telecounter/password.h"
#include "telecounter/random.h"
#include "telecounter/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

#define PROG "telecounter-admin"
#define PASSWORD_MAX 1024
#define PASSWORD_MIN 10 /* characters; the generated ones have 16 */
#define GENERATED_PASSWORD_LEN 16
#define DAY_MS (86400 * INT64_C(1000))

static const char usage_text[] =
    "usage: " PROG " [--config FILE] [--db PATH] COMMAND ...\n"
    "  add-account USERNAME --role agent|ops [--skills id_check,broadband]\n"
    "              [--name \"Display Name\"] [--password-stdin]\n"
    "  passwd USERNAME [--password-stdin]\n"
    "  disable USERNAME | enable USERNAME\n"
    "  set-skills USERNAME SKILLS\n"
    "  list-accounts\n"
    "  list-sessions [--since YYYY-MM-DD] [--until YYYY-MM-DD]\n"
    "  export-csv [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--out FILE]\n"
    "  --help, --version; COMMAND --help\n"
    "\n"
    "The database is --db, else [store] path of --config, else the default. Only\n"
    "add-account creates it; the list and export commands open it read-only.\n"
    "Passwords: one line on stdin with --password-stdin, else $TC_PASSWORD, else a\n"
    "random one is generated and printed once; at least 10 characters. Dates are\n"
    "UTC days; --until is inclusive. USERNAME: a-z 0-9 . _ - (1 to 63). SKILLS:\n"
    "desk names of [routing] desks in --config (default id_check,broadband,\n"
    "urgent_sim); an agent needs at least one.\n"
    "export-csv writes RFC 4180 CSV (UTC ISO-8601 times); control characters in\n"
    "text become U+FFFD (tab and line feed stay); text cells that a spreadsheet\n"
    "would run as a formula (= + - @) get a leading '.\n";

/* The options a command accepts, as bits. */
enum { OPT_ROLE = 1, OPT_SKILLS = 2, OPT_NAME = 4, OPT_PASSWORD_STDIN = 8 };
enum { OPT_SINCE = 16, OPT_UNTIL = 32, OPT_OUT = 64 };

typedef struct args {
    const char *pos[2];
    int npos;
    const char *role, *skills, *name, *since, *until, *out;
    bool password_stdin, help;
} args;
typedef struct admin admin;

typedef struct new_password {
    char plain[PASSWORD_MAX + 2]; /* room for the newline and the NUL */
    char hash[TC_PASSWORD_HASH_MAX];
    bool generated;
} new_password;

/* How a command opens the database: only add-account may create it; a
 * mistyped --db must not leave an empty database behind. */
typedef enum open_mode { OPEN_CREATE, OPEN_EXISTING, OPEN_READ_ONLY } open_mode;

typedef struct command {
    const char *name;
    int npos;         /* positional arguments it takes */
    unsigned options; /* OPT_* it accepts */
    int (*run)(admin *ad);
    open_mode mode;
    const char *usage; /* arguments, then what it does */
} command;

struct admin {
    const command *cmd;
    args a;
    tc_config cfg;
    char skills[256]; /* normalized --skills or SKILLS */
    int64_t since_ms, until_ms;
    const char *config_path, *db_path; /* --config, --db */
    int command_at;                    /* index of the command word in argv */
    tc_store *store;
    FILE *out;       /* export-csv */
    new_password pw; /* add-account, passwd: read and checked before the database opens */
};

__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* ---- argument checks ------------------------------------------------------------ */

static bool username_valid(const char *u)
{
    size_t n = strlen(u);
    return n > 0 && n < TC_USERNAME_MAX &&
           strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Trims, checks against the configured desks, drops duplicates, joins with ','. */
static int normalize_skills(const tc_config *cfg, const char *in, char *out, size_t cap)
{
    char buf[1024];
    bool seen[TC_MAX_DESKS] = {false};
    if (snprintf(buf, sizeof buf, "%s", in) >= (int)sizeof buf)
        return fail(EXIT_USAGE, "skills: list too long");
    out[0] = '\0';
    for (char *save = NULL, *tok = strtok_r(buf, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        int idx = tc_config_desk_index(cfg, tok);
        if (idx < 0)
            return fail(EXIT_USAGE, "unknown skill '%s' (not a configured desk)", tok);
        if (seen[idx])
            continue;
        seen[idx] = true;
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%s", used ? "," : "", tok);
    }
    return EXIT_OK;
}

/* "YYYY-MM-DD" -> ms at 00:00 UTC of that day. */
static int parse_day(const char *opt, const char *day, int64_t *out_ms)
{
    int y, m, d;
    struct tm tm = {0}, back;
    bool shape = strlen(day) == 10;
    for (int i = 0; shape && i < 10; i++)
        shape = (i == 4 || i == 7) ? day[i] == '-' : (day[i] >= '0' && day[i] <= '9');
    if (!shape || sscanf(day, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return fail(EXIT_USAGE, "%s: expected YYYY-MM-DD, got '%s'", opt, day);
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    time_t t = timegm(&tm);
    if (!gmtime_r(&t, &back) || back.tm_year != y - 1900 || back.tm_mon != m - 1 ||
        back.tm_mday != d)
        return fail(EXIT_USAGE, "%s: no such day '%s'", opt, day);
    *out_ms = (int64_t)t * 1000;
    return EXIT_OK;
}

/* An agent with no skill can never be offered a call. */
static int no_skills(const admin *ad)
{
    char desks[TC_MAX_DESKS * TC_DESK_NAME_MAX] = "";
    for (int i = 0; i < ad->cfg.desk_count; i++)
        snprintf(desks + strlen(desks), sizeof desks - strlen(desks), "%s%s", i ? "," : "",
                 ad->cfg.desks[i]);
    return fail(EXIT_USAGE, "an agent needs at least one skill: --skills from %s", desks);
}

static int check_args(admin *ad)
{
    const args *a = &ad->a;
    int rc = EXIT_OK;
    if (a->npos > 0 && !username_valid(a->pos[0]))
        return fail(EXIT_USAGE, "bad username '%s' (a-z 0-9 . _ -, 1 to %d)", a->pos[0],
                    TC_USERNAME_MAX - 1);
    if (strcmp(ad->cmd->name, "add-account") == 0 && !a->role)
        return fail(EXIT_USAGE, "add-account: --role agent|ops is required");
    if (a->role && strcmp(a->role, "agent") != 0 && strcmp(a->role, "ops") != 0)
        return fail(EXIT_USAGE, "bad role '%s' (agent or ops)", a->role);
    const char *skills = a->npos > 1 ? a->pos[1] : a->skills;
    if (skills)
        rc = normalize_skills(&ad->cfg, skills, ad->skills, sizeof ad->skills);
    if (rc == EXIT_OK && a->role && strcmp(a->role, "agent") == 0 && ad->skills[0] == '\0')
        rc = no_skills(ad);
    if (rc == EXIT_OK && a->since)
        rc = parse_day("--since", a->since, &ad->since_ms);
    if (rc == EXIT_OK && a->until) {
        rc = parse_day("--until", a->until, &ad->until_ms);
        if (rc == EXIT_OK)
            ad->until_ms += DAY_MS; /* inclusive: up to the end of that day */
    }
    if (rc == EXIT_OK && ad->since_ms >= ad->until_ms)
        rc = fail(EXIT_USAGE, "--since must come before --until");
    return rc;
}

/* ---- command line --------------------------------------------------------------- */

/* offset: of the const char * in args that takes the value; 0 for the one flag. */
static const struct option_spec {
    const char *name;
    unsigned bit;
    size_t offset;
} option_specs[] = {
    {"--role", OPT_ROLE, offsetof(args, role)},    {"--skills", OPT_SKILLS, offsetof(args, skills)},
    {"--name", OPT_NAME, offsetof(args, name)},    {"--password-stdin", OPT_PASSWORD_STDIN, 0},
    {"--since", OPT_SINCE, offsetof(args, since)}, {"--until", OPT_UNTIL, offsetof(args, until)},
    {"--out", OPT_OUT, offsetof(args, out)},
};

/* Takes one option at argv[*i] (--opt VALUE or --opt=VALUE). */
static int take_option(const command *c, int argc, char **argv, int *i, args *a)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        a->help = true;
        return EXIT_OK;
    }
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    for (size_t k = 0; k < sizeof option_specs / sizeof option_specs[0]; k++) {
        const struct option_spec *o = &option_specs[k];
        if (strlen(o->name) != len || strncmp(arg, o->name, len) != 0)
            continue;
        if (!(c->options & o->bit))
            break;
        if (o->bit == OPT_PASSWORD_STDIN) {
            if (eq)
                return fail(EXIT_USAGE, "%s takes no value", o->name);
            a->password_stdin = true;
            return EXIT_OK;
        }
        const char *value = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (!value)
            return fail(EXIT_USAGE, "%s needs a value", o->name);
        *(const char **)((char *)a + o->offset) = value;
        return EXIT_OK;
    }
    return fail(EXIT_USAGE, "%s: unknown option '%.*s' (see --help)", c->name, (int)len, arg);
}

static int parse_command_args(const command *c, int argc, char **argv, args *a)
{
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        int rc = EXIT_OK;
        if (!options_done && strcmp(argv[i], "--") == 0)
            options_done = true;
        else if (!options_done && argv[i][0] == '-' && argv[i][1] != '\0')
            rc = take_option(c, argc, argv, &i, a);
        else if (a->npos < c->npos)
            a->pos[a->npos++] = argv[i];
        else
            rc = fail(EXIT_USAGE, "%s: unexpected argument '%s' (see --help)", c->name, argv[i]);
        if (rc != EXIT_OK)
            return rc;
    }
    if (a->npos != c->npos && !a->help)
        return fail(EXIT_USAGE, "%s: missing argument (see --help)", c->name);
    return EXIT_OK;
}

/* ---- passwords ------------------------------------------------------------------- */

static int read_password_line(char *out, size_t cap)
{
    if (!fgets(out, (int)cap, stdin))
        return fail(EXIT_RUNTIME, "no password on stdin");
    size_t len = strcspn(out, "\n");
    if (out[len] != '\n' && !feof(stdin))
        return fail(EXIT_RUNTIME, "password longer than %d bytes", PASSWORD_MAX);
    out[strcspn(out, "\r\n")] = '\0';
    return EXIT_OK;
}

static void generate_password(char *out)
{
    /* No 0/O, 1/l/I, 5/S, 2/Z: easy to read aloud and to type. */
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRTUVWXY346789";
    for (int i = 0; i < GENERATED_PASSWORD_LEN; i++)
        out[i] = alphabet[tc_random_below(sizeof alphabet - 1)];
    out[GENERATED_PASSWORD_LEN] = '\0';
}

/* Characters, not bytes: continuation bytes (10xxxxxx) are not counted. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* From stdin, $TC_PASSWORD or the generator, then hashed. */
static int make_password(const args *a, new_password *pw)
{
    const char *env = getenv("TC_PASSWORD");
    int rc = EXIT_OK;
    pw->generated = !a->password_stdin && !(env && env[0]);
    if (a->password_stdin)
        rc = read_password_line(pw->plain, sizeof pw->plain);
    else if (pw->generated)
        generate_password(pw->plain);
    else if (strlen(env) > PASSWORD_MAX)
        rc = fail(EXIT_RUNTIME, "TC_PASSWORD longer than %d bytes", PASSWORD_MAX);
    else
        snprintf(pw->plain, sizeof pw->plain, "%s", env);
    if (rc == EXIT_OK && utf8_chars(pw->plain) < PASSWORD_MIN)
        rc = fail(EXIT_USAGE, "password too short: at least %d characters", PASSWORD_MIN);
    if (rc == EXIT_OK && tc_password_hash(pw->plain, pw->hash) != 0)
        rc = fail(EXIT_RUNTIME, "hashing the password failed");
    return rc;
}

/* Prints a generated password, once, then forgets it. */
static void finish_password(new_password *pw, bool ok)
{
    if (ok && pw->generated)
        printf("password: %s\n", pw->plain);
    explicit_bzero(pw, sizeof *pw);
}

/* ---- account commands ------------------------------------------------------------ */

static int store_failed(int err, const char *what, const char *username)
{
    if (err == -ENOENT)
        return fail(EXIT_RUNTIME, "no account '%s'", username);
    if (err == -EEXIST)
        return fail(EXIT_RUNTIME, "account '%s' already exists", username);
    return fail(EXIT_RUNTIME, "%s '%s' failed: %s", what, username, strerror(-err));
}

static int cmd_add_account(admin *ad)
{
    const args *a = &ad->a;
    int64_t id = 0;
    int err = tc_store_account_add(ad->store, a->pos[0], a->name ? a->name : a->pos[0], a->role,
                                   ad->skills, ad->pw.hash, tc_clock_wall_ms(), &id);
    if (err)
        return store_failed(err, "adding", a->pos[0]);
    printf("added %s %s (id %" PRId64 ")\n", a->role, a->pos[0], id);
    return EXIT_OK;
}

static int cmd_passwd(admin *ad)
{
    const args *a = &ad->a;
    int err = tc_store_account_set_password(ad->store, a->pos[0], ad->pw.hash);
    if (err)
        return store_failed(err, "changing the password of", a->pos[0]);
    printf("password changed for %s\n", a->pos[0]);
    return EXIT_OK;
}

static int cmd_disable_enable(admin *ad)
{
    bool disabled = strcmp(ad->cmd->name, "disable") == 0;
    int err = tc_store_account_set_disabled(ad->store, ad->a.pos[0], disabled);
    if (err)
        return store_failed(err, "updating", ad->a.pos[0]);
    printf("%s %s\n", disabled ? "disabled" : "enabled", ad->a.pos[0]);
    return EXIT_OK;
}

static int cmd_set_skills(admin *ad)
{
    tc_account acc;
    int err = tc_store_account_get(ad->store, ad->a.pos[0], &acc);
    if (err)
        return store_failed(err, "reading", ad->a.pos[0]);
    if (strcmp(acc.role, "agent") == 0 && ad->skills[0] == '\0')
        return no_skills(ad);
    err = tc_store_account_set_skills(ad->store, ad->a.pos[0], ad->skills);
    if (err)
        return store_failed(err, "updating", ad->a.pos[0]);
    printf("skills of %s: %s\n", ad->a.pos[0], ad->skills[0] ? ad->skills : "(none)");
    return EXIT_OK;
}

static int print_account(void *user, const tc_account *acc)
{
    (void)user;
    printf("%-6" PRId64 " %-20s %-6s %-9s %-32s %s\n", acc->id, acc->username, acc->role,
           acc->disabled ? "disabled" : "enabled", acc->skills[0] ? acc->skills : "-",
           acc->display_name);
    return 0;
}

static int cmd_list_accounts(admin *ad)
{
    printf("%-6s %-20s %-6s %-9s %-32s %s\n", "ID", "USERNAME", "ROLE", "STATE", "SKILLS", "NAME");
    int err = tc_store_account_foreach(ad->store, print_account, NULL);
    return err ? fail(EXIT_RUNTIME, "listing accounts failed: %s", strerror(-err)) : EXIT_OK;
}

/* ---- session commands ------------------------------------------------------------- */

/* ISO-8601 UTC; with_ms adds ".mmm". 0 ("not yet") gives "". */
static void format_time(int64_t ms, bool with_ms, char *out, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    out[0] = '\0';
    if (ms <= 0 || !gmtime_r(&t, &tm))
        return;
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (with_ms)
        snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
    else
        snprintf(out + n, cap - n, "Z");
}

static void agent_name(tc_store *s, int64_t agent_id, char *out, size_t cap)
{
    tc_account acc;
    out[0] = '\0';
    if (agent_id && tc_store_account_get_by_id(s, agent_id, &acc) == 0)
        snprintf(out, cap, "%s", acc.username);
}

/* Whole seconds from one time to another, or "-" when either is "not yet". */
static void format_secs(int64_t from_ms, int64_t to_ms, char *out, size_t cap)
{
    snprintf(out, cap, "-");
    if (from_ms && to_ms)
        snprintf(out, cap, "%" PRId64, (to_ms - from_ms + 500) / 1000);
}

static int print_session(void *user, const tc_session_row *r)
{
    admin *ad = user;
    char queued[32], agent[TC_USERNAME_MAX], wait[24], handle[24], rating[8] = "-";
    format_time(r->queued_at, false, queued, sizeof queued);
    agent_name(ad->store, r->agent_id, agent, sizeof agent);
    format_secs(r->queued_at, r->answered_at ? r->answered_at : r->ended_at, wait, sizeof wait);
    format_secs(r->answered_at, r->ended_at, handle, sizeof handle);
    if (r->rating)
        snprintf(rating, sizeof rating, "%d", r->rating);
    printf("%-6" PRId64 " %-20s %-11s %-16s %7s %8s %-15s %s\n", r->id, queued, r->desk,
           agent[0] ? agent : "-", wait, handle, r->end_reason[0] ? r->end_reason : "(open)",
           rating);
    return 0;
}

static int cmd_list_sessions(admin *ad)
{
    printf("%-6s %-20s %-11s %-16s %7s %8s %-15s %s\n", "ID", "QUEUED", "DESK", "AGENT", "WAIT_S",
           "HANDLE_S", "END", "RATING");
    int err = tc_store_session_foreach(ad->store, ad->since_ms, ad->until_ms, print_session, ad);
    return err ? fail(EXIT_RUNTIME, "listing sessions failed: %s", strerror(-err)) : EXIT_OK;
}

/* Length of a control character at p that must not reach a terminal or a
 * spreadsheet (C0 but tab and line feed, DEL, C1 as UTF-8), else 0. */
static size_t control_len(const unsigned char *p)
{
    if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
        return 1;
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
        return 2;
    return 0;
}

/* One RFC 4180 field, quoted when needed. Customers and agents typed this
 * text: an escape sequence would drive the terminal of whoever runs
 * export-csv, so control characters become U+FFFD; a leading = + - @ (or tab)
 * gets a ' so that a spreadsheet shows the text instead of running it as a
 * formula (OWASP's advice on CSV injection). */
static void csv_text(FILE *f, const char *s, bool last)
{
    bool guard = s[0] && strchr("=+-@\t\r", s[0]);
    bool quote = guard || strpbrk(s, ",\"\r\n");
    if (quote)
        fputc('"', f);
    if (guard)
        fputc('\'', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t ctl = control_len(p);
        if (ctl) {
            fputs("\xef\xbf\xbd", f);
            p += ctl;
            continue;
        }
        if (*p == '"' && quote)
            fputc('"', f);
        fputc(*p++, f);
    }
    if (quote)
        fputc('"', f);
    fputs(last ? "\r\n" : ",", f);
}

/* A number, or an empty cell for 0 ("none", "not rated"). */
static void csv_opt(FILE *f, int64_t id)
{
    if (id)
        fprintf(f, "%" PRId64, id);
    fputc(',', f);
}

static void csv_time(FILE *f, int64_t ms)
{
    char buf[40];
    format_time(ms, true, buf, sizeof buf);
    fprintf(f, "%s,", buf);
}

static int write_csv_row(void *user, const tc_session_row *r)
{
    const admin *o = user;
    char agent[TC_USERNAME_MAX];
    agent_name(o->store, r->agent_id, agent, sizeof agent);
    fprintf(o->out, "%" PRId64 ",", r->id);
    csv_text(o->out, r->desk, false);
    fprintf(o->out, "%d,", r->priority);
    csv_opt(o->out, r->invite_id);
    csv_text(o->out, r->case_ref, false);
    csv_time(o->out, r->queued_at);
    csv_time(o->out, r->offered_at);
    csv_time(o->out, r->answered_at);
    csv_time(o->out, r->ended_at);
    fprintf(o->out, "%d,", r->offers);
    csv_opt(o->out, r->agent_id);
    csv_text(o->out, agent, false);
    csv_text(o->out, r->end_reason, false);
    csv_text(o->out, r->outcome, false);
    csv_text(o->out, r->notes, false);
    csv_opt(o->out, r->rating);
    csv_text(o->out, r->rating_comment, false);
    csv_text(o->out, r->media_summary, true);
    return ferror(o->out) ? 1 : 0;
}

static FILE *open_out(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return stdout;
    /* Customer data: readable by the owner only. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f;
}

static int cmd_export_csv(admin *ad)
{
    ad->out = open_out(ad->a.out);
    if (!ad->out)
        return fail(EXIT_RUNTIME, "cannot write %s: %s", ad->a.out, strerror(errno));
    fputs("id,desk,priority,invite_id,case_ref,queued_at,offered_at,answered_at,ended_at,offers,"
          "agent_id,agent,end_reason,outcome,notes,rating,rating_comment,media_summary\r\n",
          ad->out);
    int err = tc_store_session_foreach(ad->store, ad->since_ms, ad->until_ms, write_csv_row, ad);
    bool write_failed = ferror(ad->out) != 0;
    write_failed |= (ad->out == stdout ? fflush(ad->out) : fclose(ad->out)) != 0;
    if (err)
        return fail(EXIT_RUNTIME, "reading sessions failed: %s", strerror(-err));
    if (write_failed)
        return fail(EXIT_RUNTIME, "writing %s failed", ad->a.out ? ad->a.out : "stdout");
    return EXIT_OK;
}

/* ---- main ----------------------------------------------------------------------------- */

static const command commands[] = {
    {"add-account", 1, OPT_ROLE | OPT_SKILLS | OPT_NAME | OPT_PASSWORD_STDIN, cmd_add_account,
     OPEN_CREATE,
     "USERNAME --role agent|ops [--skills SKILLS] [--name \"Display Name\"] [--password-stdin]\n"
     "Adds an account (creating the database if there is none). An agent needs at least\n"
     "one skill: desk names of [routing] desks in --config. The password (at least 10\n"
     "characters) is one line on stdin with --password-stdin, else $TC_PASSWORD, else\n"
     "generated and printed once.\n"},
    {"passwd", 1, OPT_PASSWORD_STDIN, cmd_passwd, OPEN_EXISTING,
     "USERNAME [--password-stdin]\n"
     "Sets a new password (at least 10 characters; from stdin, $TC_PASSWORD or generated).\n"},
    {"disable", 1, 0, cmd_disable_enable, OPEN_EXISTING,
     "USERNAME\nDisables the account: its logins fail from now on.\n"},
    {"enable", 1, 0, cmd_disable_enable, OPEN_EXISTING,
     "USERNAME\nEnables a disabled account again.\n"},
    {"set-skills", 2, 0, cmd_set_skills, OPEN_EXISTING,
     "USERNAME SKILLS\n"
     "Replaces the account's skills (comma-separated desk names of [routing] desks in\n"
     "--config); an agent keeps at least one.\n"},
    {"list-accounts", 0, 0, cmd_list_accounts, OPEN_READ_ONLY,
     "\nLists the accounts: id, username, role, state, skills, name (read-only).\n"},
    {"list-sessions", 0, OPT_SINCE | OPT_UNTIL, cmd_list_sessions, OPEN_READ_ONLY,
     "[--since YYYY-MM-DD] [--until YYYY-MM-DD]\n"
     "Lists the sessions queued in those UTC days (--until inclusive), read-only.\n"},
    {"export-csv", 0, OPT_SINCE | OPT_UNTIL | OPT_OUT, cmd_export_csv, OPEN_READ_ONLY,
     "[--since YYYY-MM-DD] [--until YYYY-MM-DD] [--out FILE]\n"
     "Writes the sessions as RFC 4180 CSV to FILE (0600) or stdout, read-only. Control\n"
     "characters in text become U+FFFD (tab and line feed stay); a text cell starting\n"
     "with = + - @ gets a leading ' so that a spreadsheet does not run it.\n"},
};

static int command_help(const command *c)
{
    const char *nl = strchr(c->usage, '\n');
    int n = printf("usage: " PROG " [--config FILE] [--db PATH] %s %.*s\n%s", c->name,
                   (int)(nl - c->usage), c->usage, nl + 1);
    return n < 0 ? EXIT_RUNTIME : EXIT_OK;
}

/* Options before the command word. Returns -1 to go on, else an exit code. */
static int parse_globals(int argc, char **argv, admin *g)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return fputs(usage_text, stdout) < 0 ? EXIT_RUNTIME : EXIT_OK;
        if (strcmp(arg, "--version") == 0)
            return printf("%s %s\n", PROG, TC_VERSION) < 0 ? EXIT_RUNTIME : EXIT_OK;
        bool is_config = strcmp(arg, "--config") == 0, is_db = strcmp(arg, "--db") == 0;
        if (is_config || is_db) {
            if (i + 1 >= argc)
                return fail(EXIT_USAGE, "%s needs a value", arg);
            *(is_config ? &g->config_path : &g->db_path) = argv[++i];
            continue;
        }
        if (arg[0] == '-')
            return fail(EXIT_USAGE, "unknown option '%s' (see --help)", arg);
        g->command_at = i;
        return -1;
    }
    return fail(EXIT_USAGE, "no command given (see --help)");
}

/* Parses and checks everything, loads the configuration; -1 to go on. */
static int prepare(int argc, char **argv, admin *ad)
{
    char err[4096];
    int rc = parse_globals(argc, argv, ad);
    if (rc >= 0)
        return rc;
    int at = ad->command_at;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && !ad->cmd; i++)
        ad->cmd = strcmp(commands[i].name, argv[at]) == 0 ? &commands[i] : NULL;
    if (!ad->cmd)
        return fail(EXIT_USAGE, "unknown command '%s' (see --help)", argv[at]);
    rc = parse_command_args(ad->cmd, argc - at - 1, argv + at + 1, &ad->a);
    if (rc != EXIT_OK)
        return rc;
    if (ad->a.help)
        return command_help(ad->cmd);
    if (tc_config_load(&ad->cfg, ad->config_path, err, sizeof err) != 0) {
        for (char *line = err, *next; line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            fail(EXIT_RUNTIME, "config: %s", line);
        }
        return EXIT_RUNTIME;
    }
    rc = check_args(ad);
    return rc == EXIT_OK ? -1 : rc;
}

int main(int argc, char **argv)
{
    admin ad = {.since_ms = INT64_MIN, .until_ms = INT64_MAX};
    int rc = prepare(argc, argv, &ad);
    if (rc >= 0)
        return rc;
    tc_log_set_level(TC_LOG_WARN);
    if (tc_random_init() != 0)
        return fail(EXIT_RUNTIME, "cannot initialize randomness");
    const char *path = ad.db_path ? ad.db_path : ad.cfg.db_path;
    if (ad.cmd->mode != OPEN_CREATE && access(path, F_OK) != 0)
        return fail(EXIT_RUNTIME, "no database at %s (check --db, or [store] path of --config)",
                    path);
    rc = (ad.cmd->options & OPT_PASSWORD_STDIN) ? make_password(&ad.a, &ad.pw) : EXIT_OK;
    if (rc == EXIT_OK) {
        ad.store = ad.cmd->mode == OPEN_CREATE
                       ? tc_store_open(path)
                       : tc_store_open_existing(path, ad.cmd->mode == OPEN_READ_ONLY);
        rc = ad.store ? ad.cmd->run(&ad) : fail(EXIT_RUNTIME, "cannot open database %s", path);
    }
    tc_store_close(ad.store);
    finish_password(&ad.pw, rc == EXIT_OK);
    return rc;
}
