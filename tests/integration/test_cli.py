#!/usr/bin/python3
"""Integration: the command lines of `telecounter` and `telecounter-admin`.

telecounter --help, --version (names the SRTP backend), --check-config on good and bad
files (non-zero with a message naming the key), and every error of a file at once (unknown
groups and keys, an address that is no IP literal, missing TLS files, web root and database
folder), the same at a start; telecounter-admin add-account, list-accounts, disable (that
account's login then fails with bad_credentials) and passwd (the old password stops working,
the new one works); read-only commands that create nothing at a mistyped path; COMMAND --help;
the password minimum and the agent's skill; control characters and formulas in export-csv.
"""

import csv
import io
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
from tchelper import BINARY, PASSWORD, Suite  # noqa: E402

S = Suite("cli")
srv = None


def run(*args, stdin=None, timeout=30):
    return subprocess.run(list(args), input=stdin, text=True, capture_output=True,
                          timeout=timeout)


def bad_config(srv, name, group, key, value):
    """A copy of srv's config with group.key = value, written to NAME.conf."""
    cfg = {g: dict(k) for g, k in srv.config.items()}
    cfg.setdefault(group, {})[key] = value
    path = os.path.join(srv.tmp, name + ".conf")
    with open(path, "w") as f:
        f.write(tchelper.render_config(cfg))
    return path


@S.test
async def server_command_line():
    """--help, --version and --check-config."""
    global srv
    srv = S.server(name="cli")
    r = run(BINARY, "--help")
    out = r.stdout + r.stderr
    S.check(r.returncode == 0, "--help exits 0", r.returncode)
    S.check("--config" in out and "--check-config" in out,
            "--help mentions --config and --check-config", out[:300])
    r = run(BINARY, "--version")
    out = r.stdout + r.stderr
    S.check(r.returncode == 0 and "telecounter" in out and "0.1.0" in out,
            "--version prints the name and version", out[:300])
    S.check("srtp" in out.lower(), "--version mentions the SRTP backend", out[:300])

    r = run(BINARY, "--check-config", "--config", srv.config_path)
    S.check(r.returncode == 0, "--check-config on a good file exits 0", r.stdout + r.stderr)
    for name, group, key, value in [("port", "server", "port", "70000"),
                                    ("assign", "routing", "assignment", "fastest"),
                                    ("ring", "routing", "ring_timeout_s", "two"),
                                    ("desks", "routing", "desks", "Broad Band"),
                                    ("key", "invites", "key", "abc"),
                                    ("uring", "server", "io_uring", "sometimes")]:
        path = bad_config(srv, name, group, key, value)
        r = run(BINARY, "--check-config", "--config", path)
        out = r.stdout + r.stderr
        S.check(r.returncode != 0 and f"{group}.{key}" in out,
                f"--check-config with {group}.{key}={value} fails naming the key",
                (r.returncode, out.strip()[:300]))
    garbled = os.path.join(srv.tmp, "garbled.conf")
    with open(garbled, "w") as f:
        f.write("[server\nport 8443\n")
    r = run(BINARY, "--check-config", "--config", garbled)
    S.check(r.returncode != 0 and "garbled.conf" in r.stdout + r.stderr,
            "an unparseable file fails, naming the file", (r.returncode, r.stderr.strip()[:300]))
    r = run(BINARY, "--check-config", "--config", os.path.join(srv.tmp, "missing.conf"))
    S.check(r.returncode != 0 and (r.stdout + r.stderr).strip() != "",
            "a missing file fails with a message", (r.returncode, r.stderr.strip()[:300]))
    r = run(BINARY, "--no-such-option")
    S.check(r.returncode != 0, "an unknown option fails", r.returncode)
    path = bad_config(srv, "badport", "server", "port", "70000")
    r = run(BINARY, "--config", path, timeout=10)
    S.check(r.returncode != 0 and "server.port" in r.stdout + r.stderr,
            "starting with a bad config fails at once, naming the key",
            (r.returncode, r.stderr.strip()[:300]))


@S.test
async def admin_accounts():
    """add-account, list-accounts, disable, passwd, and their effect on login."""
    srv.add_account("alice", "agent", ["broadband", "id_check"])
    srv.add_account("olga", "ops", [])
    r = srv.admin("add-account", "alice", "--role", "agent", "--skills", "broadband",
                  "--password-stdin", stdin=PASSWORD + "\n")
    S.check(r.returncode != 0 and r.stderr.strip() != "",
            "adding an existing username fails with a message", (r.returncode, r.stderr))
    r = srv.admin("add-account", "kim", "--role", "king", "--password-stdin",
                  stdin=PASSWORD + "\n")
    S.check(r.returncode != 0, "an unknown role is refused", (r.returncode, r.stderr))
    r = srv.admin("list-accounts")
    S.check(r.returncode == 0 and "alice" in r.stdout and "olga" in r.stdout
            and "kim" not in r.stdout, "list-accounts lists alice and olga (not kim)", r.stdout)
    S.check("agent" in r.stdout and "ops" in r.stdout and "broadband" in r.stdout,
            "list-accounts shows roles and skills", r.stdout)

    srv.start()
    c = await srv.client()
    r = await c.request("login", username="alice", password=PASSWORD)
    S.check(r.get("type") == "login.ok" and r.get("account", {}).get("role") == "agent"
            and sorted(r.get("account", {}).get("skills", [])) == ["broadband", "id_check"]
            and r.get("account", {}).get("username") == "alice" and r.get("state") == "not_ready",
            "login.ok has the account (username, role, skills) and state not_ready", r)
    c2 = await srv.client()
    wrong = await c2.request("login", username="alice", password="wrong")
    S.check_error(wrong, "bad_credentials", "a wrong password -> bad_credentials")
    nobody = await c2.request("login", username="nobody", password=PASSWORD)
    S.check_error(nobody, "bad_credentials", "an unknown user -> bad_credentials")

    r = srv.admin("disable", "alice")
    S.check(r.returncode == 0, "disable alice exits 0", r.stderr)
    r = await (await srv.client()).request("login", username="alice", password=PASSWORD)
    S.check_error(r, "bad_credentials", "a disabled account's login -> bad_credentials")
    S.check(r.get("message") == wrong.get("message") == nobody.get("message"),
            "disabled, wrong password and unknown user look the same", (r, wrong, nobody))
    r = srv.admin("disable", "nobody")
    S.check(r.returncode != 0, "disabling an unknown account fails", r.returncode)

    r = srv.admin("passwd", "olga", "--password-stdin", stdin="new secret 123\n")
    S.check(r.returncode == 0, "passwd olga exits 0", r.stderr)
    r = await (await srv.client()).request("login", username="olga", password=PASSWORD)
    S.check_error(r, "bad_credentials", "the old password no longer works")
    r = await (await srv.client()).request("login", username="olga", password="new secret 123")
    S.check(r.get("type") == "login.ok" and r.get("account", {}).get("role") == "ops",
            "the new password works (role ops)", r)
    r = await c.request("logout")
    S.check_reply(r, "logout", "logout -> logout.ok")



@S.test
async def check_config_reports_every_error():
    """--check-config and a start report every error of a file, one line each."""
    missing = os.path.join(srv.tmp, "missing")
    cfg = {g: dict(k) for g, k in srv.config.items()}
    cfg["server"].update({"address": "nope", "prot": "8443",
                          "tls_cert": os.path.join(missing, "cert.pem"),
                          "tls_key": os.path.join(missing, "key.pem"),
                          "web_root": os.path.join(missing, "web")})
    cfg["store"]["path"] = os.path.join(missing, "db", "telecounter.db")
    cfg["bogus"] = {"x": "1"}
    path = os.path.join(srv.tmp, "many.conf")
    with open(path, "w") as f:
        f.write(tchelper.render_config(cfg))
    r = run(BINARY, "--check-config", "--config", path)
    out = r.stdout + r.stderr
    lines = [ln for ln in out.splitlines() if ln.strip()]
    S.check(r.returncode != 0 and "configuration OK" not in out,
            "--check-config with many errors fails", (r.returncode, out[:500]))
    wanted = {"[bogus]": "unknown group", "server.prot": "did you mean server.port",
              "server.address": "not an IP address", "server.tls_cert": "cert.pem",
              "server.tls_key": "key.pem", "server.web_root": "web",
              "store.path": os.path.join(missing, "db")}
    for name, why in wanted.items():
        S.check(any(name in ln and why in ln for ln in lines),
                f"a line names {name} and says why ({why})", out[:800])
    S.check(len(lines) == len(wanted), "one line per error, nothing else", lines)
    r2 = run(BINARY, "--config", path, timeout=10)
    S.check(r2.returncode != 0 and r2.stderr == r.stderr,
            "a start with the same file fails with the same lines", (r2.returncode, r2.stderr))
    S.check(not os.path.exists(os.path.join(missing, "db")), "the start created no folder")
    ok = run(BINARY, "--check-config", "--config", srv.config_path)
    S.check(ok.returncode == 0 and "configuration OK" in ok.stdout,
            "the good file still passes", ok.stdout + ok.stderr)


@S.test
async def admin_opens_only_what_exists():
    """Read-only commands at a mistyped path fail and create nothing; COMMAND --help works."""
    nowhere = os.path.join(srv.tmp, "typo", "dir", "telecounter.db")
    for args in (["list-accounts"], ["list-sessions"], ["export-csv"], ["disable", "alice"],
                 ["passwd", "olga", "--password-stdin"], ["set-skills", "alice", "broadband"]):
        r = subprocess.run([tchelper.ADMIN, "--config", srv.config_path, "--db", nowhere, *args],
                           input="long enough secret\n", text=True, capture_output=True,
                           timeout=30)
        S.check(r.returncode != 0 and "no database at" in r.stderr and nowhere in r.stderr,
                f"{args[0]} at a mistyped path fails naming it", (r.returncode, r.stderr))
    S.check(not os.path.exists(os.path.join(srv.tmp, "typo")),
            "no database and no folder were created")
    before = os.stat(srv.db).st_mtime_ns
    r = srv.admin("list-accounts")
    S.check(r.returncode == 0 and "olga" in r.stdout, "list-accounts reads the real database",
            r.stderr)
    S.check(os.stat(srv.db).st_mtime_ns == before, "a read-only command leaves the file as it was")
    for name in ("add-account", "passwd", "disable", "enable", "set-skills", "list-accounts",
                 "list-sessions", "export-csv"):
        for flag in ("--help", "-h"):
            r = srv.admin(name, flag)
            S.check(r.returncode == 0 and r.stdout.startswith("usage: telecounter-admin")
                    and f" {name} " in r.stdout.splitlines()[0] and r.stderr == "",
                    f"{name} {flag} prints its usage and exits 0",
                    (r.returncode, r.stdout[:200], r.stderr))


@S.test
async def admin_password_and_skills():
    """Passwords of fewer than 10 characters and agents with no skill are refused."""
    for pw in ("x", "123456789", "ääääääääö"):
        r = srv.admin("add-account", "shorty", "--role", "ops", "--password-stdin",
                      stdin=pw + "\n")
        S.check(r.returncode != 0 and "at least 10 characters" in r.stderr,
                f"a password of {len(pw)} characters is refused", (r.returncode, r.stderr))
    r = subprocess.run([tchelper.ADMIN, "--config", srv.config_path, "--db", srv.db,
                        "add-account", "shorty", "--role", "ops"], text=True, capture_output=True,
                       timeout=30, env=dict(os.environ, TC_PASSWORD="short"))
    S.check(r.returncode != 0 and "at least 10" in r.stderr, "a short $TC_PASSWORD is refused",
            (r.returncode, r.stderr))
    r = srv.admin("passwd", "olga", "--password-stdin", stdin="abc\n")
    S.check(r.returncode != 0 and "at least 10" in r.stderr, "passwd refuses a short password",
            (r.returncode, r.stderr))
    r = srv.admin("add-account", "tenchars", "--role", "ops", "--password-stdin",
                  stdin="0123456789\n")
    S.check(r.returncode == 0, "ten characters are enough", r.stderr)

    for extra in ([], ["--skills", ","], ["--skills", " "]):
        r = srv.admin("add-account", "noskill", "--role", "agent", *extra, "--password-stdin",
                      stdin=PASSWORD + "\n")
        S.check(r.returncode != 0 and "at least one skill" in r.stderr
                and "broadband" in r.stderr,
                f"an agent with no skill is refused ({extra})", (r.returncode, r.stderr))
    r = srv.admin("set-skills", "tenchars", "")
    S.check(r.returncode == 0, "an ops account may have no skills", r.stderr)
    srv.add_account("skilled", "agent", ["broadband"])
    r = srv.admin("set-skills", "skilled", "")
    S.check(r.returncode != 0 and "at least one skill" in r.stderr,
            "set-skills cannot take an agent's last skill", (r.returncode, r.stderr))
    r = srv.admin("list-accounts")
    S.check("shorty" not in r.stdout and "noskill" not in r.stdout
            and any("skilled" in ln and "broadband" in ln for ln in r.stdout.splitlines()),
            "no refused account was stored; skilled keeps broadband", r.stdout)


@S.test
async def export_csv_neutralises_control_characters():
    """Escape sequences in notes and comments do not reach the terminal; formulas are quoted."""
    srv.add_account("csvagent", "agent", ["broadband"])
    agent = await srv.agent("csvagent", available=True)
    cust = await srv.customer("broadband")
    await agent.expect_event("ring", 5, lambda e: e.get("session_id") == cust.session_id)
    r = await agent.request("agent.accept", session_id=cust.session_id)
    S.check_reply(r, "agent.accept", "the agent accepts")
    await cust.expect_event("session.answered", 3)
    await cust.request("hangup")
    await cust.expect_event("session.ended", 3)
    notes = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\rover\x9bC\nline two\ttab"
    r = await agent.request("agent.outcome", session_id=cust.session_id, code="resolved",
                            notes=notes)
    S.check_reply(r, "agent.outcome", "notes with escape sequences are recorded")
    r = await cust.request("customer.rate", rating=5, comment="=HYPERLINK(\"http://x\")")
    S.check_reply(r, "customer.rate", "a comment that looks like a formula is recorded")

    r = srv.admin("export-csv")
    raw = r.stdout
    S.check(r.returncode == 0, "export-csv exits 0", r.stderr)
    bad = sorted({hex(ord(ch)) for ch in raw if (ord(ch) < 0x20 and ch not in "\t\r\n")
                  or 0x7f <= ord(ch) <= 0x9f})
    S.check(bad == [], "no control characters but tab and line ends in the output", bad)
    rows = [row for row in csv.DictReader(io.StringIO(raw))
            if row["id"] == str(cust.session_id)]
    row = rows[0] if rows else {}
    S.check(row.get("notes") == "\ufffd]0;owned\ufffd\ufffd[2J\ufffd[31mred\ufffdover\ufffdC"
            "\nline two\ttab", "each control character became U+FFFD; line feed and tab stay",
            repr(row.get("notes")))
    S.check(row.get("rating_comment") == "'=HYPERLINK(\"http://x\")",
            "a formula gets a leading apostrophe", repr(row.get("rating_comment")))

if __name__ == "__main__":
    S.main()
