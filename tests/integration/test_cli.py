#!/usr/bin/python3
"""Integration: the command lines of `telecounter` and `telecounter-admin`.

telecounter --help, --version (names the SRTP backend), --check-config on good and bad
files (non-zero with a message naming the key); telecounter-admin add-account,
list-accounts, disable (that account's login then fails with bad_credentials) and
passwd (the old password stops working, the new one works).
"""

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


if __name__ == "__main__":
    S.main()
