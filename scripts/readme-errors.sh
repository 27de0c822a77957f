#!/usr/bin/env bash
# The references under docs/ come from the code's own tables, so they
# cannot drift:
#   docs/errors.md    the error catalogue (GET /admin/v1/errors through
#                     redpack-ctl errors --markdown), between
#                     "<!-- errors:begin -->" and "<!-- errors:end -->";
#   docs/settings.md  the settings table of config.c (redpack-sim
#                     --help-markdown), between "<!-- settings:begin -->"
#                     and "<!-- settings:end -->".
# And checked, in both modes:
#   docs/control-api.md  has one table row per route of admin.c's route
#                        table (method, path with {name} for *, and the
#                        query parameters it takes), and no row for a
#                        route that does not exist; its "every path but
#                        ... needs" names the routes flagged ADMIN_PUBLIC;
#   docs/fixtures.md     shows the same fixtures example as the README's
#                        "### Fixtures" (a test holds that one to the file);
#   README.md, docs/     every relative link names a file that exists, and
#                        the README links every file under docs/.
#   scripts/readme-errors.sh [--check] [BUILD_DIR]
# Without --check it rewrites the two generated blocks; with --check it
# exits 1 when a block differs from its table or a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
build=${1:-build}
tmp=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true; rm -rf "$tmp"' EXIT
"$build/redpack-sim" --help-markdown >"$tmp/settings"
# The catalogue needs no certificates, but the server does: use throw-away ones.
bash scripts/gen-certs.sh "$tmp/certs" fixtures/default.json 2>/dev/null
"$build/redpack-sim" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --db :memory: \
  --tls-cert "$tmp/certs/server.pem" --tls-key "$tmp/certs/server.key" \
  --client-ca "$tmp/certs/ca.pem" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q '^listening ' "$tmp/out" 2>/dev/null && break; sleep 0.05; done
admin=$(sed -n 's/^listening .* admin=\([^ ]*\)$/\1/p' "$tmp/out")
"$build/redpack-ctl" --admin "$admin" errors --markdown >"$tmp/errors"
python3 - "$check" "$tmp/errors" "$tmp/settings" <<'PY'
import glob, json, os, re, sys

check = sys.argv[1] == "1"
failed = []


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def block(path, name, table):
    """Writes or checks the generated block `name` of path."""
    text = read(path)
    begin, end = "<!-- %s:begin -->\n" % name, "<!-- %s:end -->" % name
    head, rest = text.split(begin, 1)
    old, tail = rest.split(end, 1)
    rows = table.count("\n") - 2
    if not check:
        with open(path, "w", encoding="utf-8") as f:
            f.write(head + begin + table + end + tail)
        print("%s: %s table written (%d rows)" % (path, name, rows))
    elif old != table:
        failed.append("%s: the %s table differs from the code's; run scripts/readme-errors.sh"
                      % (path, name))
    else:
        print("%s: %s table matches (%d rows)" % (path, name, rows))


block("docs/errors.md", "errors", read(sys.argv[2]))
block("docs/settings.md", "settings", read(sys.argv[3]))

# Routes: admin.c's table against docs/control-api.md's rows.
# A row: {"METHOD", "/path", handler, FLAGS, QUERY, PAGE, BODY}, one per
# line (BODY may go on to the next).
route_re = re.compile(r'^\s*\{"(GET|POST|PUT|DELETE)", "(/[^"]*)", \w+, ([^,]+), ([^,]+), (\d+),')
routes = {}
public = set()
for line in read("server/src/admin.c").splitlines():
    m = route_re.match(line)
    if m:
        query = {q.lower() for q in re.findall(r"QP_(\w+)", m.group(4))}
        if int(m.group(5)) > 0:
            query |= {"limit", "cursor"}
        routes[(m.group(1), m.group(2))] = query
        if "ADMIN_PUBLIC" in m.group(3):
            public.add(m.group(2))
if len(routes) < 10:
    failed.append("server/src/admin.c: found only %d routes; has the table's shape changed?"
                  % len(routes))
row_re = re.compile(r"^\| `(GET|POST|PUT|DELETE) (/[^`?\[]*)(?:\[?\?([^`\]]*)\]?)?`")
rows = {}
for line in read("docs/control-api.md").splitlines():
    m = row_re.match(line)
    if m:
        path = re.sub(r"\{[a-z_]+\}", "*", m.group(2))
        query = {q.rstrip("=") for q in (m.group(3) or "").split("&") if q}
        if (m.group(1), path) in rows:
            failed.append("docs/control-api.md: %s %s has two rows" % (m.group(1), path))
        rows[(m.group(1), path)] = query
for key, query in sorted(routes.items()):
    if key not in rows:
        failed.append("docs/control-api.md: no row for %s %s (server/src/admin.c)" % key)
    elif rows[key] != query:
        failed.append("docs/control-api.md: %s %s takes ?%s, the row says ?%s"
                      % (key + ("&".join(sorted(query)), "&".join(sorted(rows[key])))))
for key in sorted(set(rows) - set(routes)):
    failed.append("docs/control-api.md: %s %s is not a route of server/src/admin.c" % key)
said = re.search(r"every path but (.*?) needs", read("docs/control-api.md"), re.S)
said = set(re.findall(r"`([^`]+)`", said.group(1))) if said else None
if said != public:
    failed.append("docs/control-api.md: \"every path but ... needs\" names %s; the routes "
                  "flagged ADMIN_PUBLIC in server/src/admin.c are %s"
                  % (sorted(said or []), sorted(public)))
print("docs/control-api.md: %d routes checked" % len(routes))

# The fixtures example: README and docs/fixtures.md show the same one.
def fixtures_example(path):
    section = read(path)
    section = section[section.index("## Fixtures"):]
    return json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))


if fixtures_example("README.md") != fixtures_example("docs/fixtures.md"):
    failed.append("docs/fixtures.md: the fixtures example differs from the README's")

# Links: every relative one resolves; the README names every docs file.
docs = sorted(glob.glob("docs/*.md"))
readme = read("README.md")
for path in ["README.md"] + docs:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", read(path)):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not os.path.exists(os.path.join(os.path.dirname(path), target)):
            failed.append("%s: link to %s, which does not exist" % (path, target))
for path in docs:
    if "](%s" % path not in readme:
        failed.append("README.md: no link to %s" % path)

if failed:
    sys.exit("\n".join(failed))
PY
