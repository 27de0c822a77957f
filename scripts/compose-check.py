#!/usr/bin/python3
"""Reads docker/compose.team.yaml without a Docker engine, its variables
as Compose gives them when none is set (${VAR:-default} its default), and
checks what the team sandbox relies on. Needs PyYAML (Debian's
python3-yaml); scripts/docker-check.sh runs it.

  compose-check.py check SETTING...   ok / FAIL lines; exit 1 on a failure.
                                      SETTING: redpack-sim's flag names
                                      (listen, log-format, ...), from --help
  compose-check.py env SERVICE        the service's environment as
                                      KEY=VALUE lines, ${VAR:-default} as
                                      its default
"""
import os
import re
import sys
from urllib.parse import unquote, urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DOCKER = os.path.join(HERE, "..", "docker")
COMPOSE = os.path.join(DOCKER, "compose.team.yaml")
HAPROXY_CFG = os.path.join(DOCKER, "haproxy", "haproxy.cfg")
SIMS = ("redpack-sim-1", "redpack-sim-2")
CERTS = "/var/lib/redpack-sim/certs"
HAPROXY_MOUNT = ("./haproxy/haproxy.cfg", "/usr/local/etc/haproxy/haproxy.cfg")
# Flags of redpack-sim that are not settings.
NOT_SETTINGS = {"help", "version", "help-markdown", "print-config"}
VARIABLE = re.compile(r"\$\$|\$\{[A-Za-z_][A-Za-z0-9_]*(?:(:?-)([^}]*))?\}|\$[A-Za-z_][A-Za-z0-9_]*")


def default(value):
    """A value as Compose gives it when no variable is set: ${VAR:-d} and
    ${VAR-d} are d, ${VAR} and $VAR empty, $$ a dollar sign."""
    if isinstance(value, bool):
        value = "true" if value else "false"

    def one(m):
        if m.group(0) == "$$":
            return "$"
        return m.group(2) if m.group(1) else ""
    return VARIABLE.sub(one, str(value))


def environment(service):
    """KEY: value; a variable listed without a value (taken from the shell)
    or null is left out."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict((k, v) for k, sep, v in (str(i).partition("=") for i in env) if sep)
    return {k: default(v) for k, v in env.items() if v is not None}


def volume_at(service, target):
    for v in service.get("volumes") or []:
        if isinstance(v, str):
            parts = v.split(":")
            source, dest = (parts[0], parts[1]) if len(parts) >= 2 else (None, parts[0])
        else:
            source, dest = v.get("source"), v.get("target")
        if dest == target:
            return source
    return None


def healthy_after(service, other):
    deps = service.get("depends_on") or {}
    dep = deps.get(other) if isinstance(deps, dict) else None
    return isinstance(dep, dict) and dep.get("condition") == "service_healthy"


def container_port(spec):
    """The container's side of a ports entry: "8443", "127.0.0.1:8443:8443",
    "8443/tcp", or the long syntax's target."""
    if isinstance(spec, dict):
        spec = spec.get("target")
    m = re.search(r"(\d+)(?:/\w+)?$", str(spec))
    return int(m.group(1)) if m else None


def database_url_matches(url_text, pg):
    """REDPACK_DB names the postgres service, its user, password and
    database (the image's defaults: user postgres, database its user's)."""
    url = urlsplit(url_text)
    try:
        port = url.port or 5432
    except ValueError:
        return False
    user = pg.get("POSTGRES_USER", "postgres")
    return (url.scheme in ("postgresql", "postgres") and url.hostname == "postgres" and
            port == 5432 and unquote(url.username or "") == user and
            unquote(url.password or "") == pg.get("POSTGRES_PASSWORD") and
            unquote(url.path.lstrip("/")) == pg.get("POSTGRES_DB", user))


def checks(compose, settings):
    """(passed, text) pairs."""
    services = compose.get("services") or {}
    out = []
    missing = [n for n in ("postgres", "haproxy") + SIMS if n not in services]
    out.append((not missing, "services postgres, %s and haproxy%s" % (
        ", ".join(SIMS), "" if not missing else " (missing: %s)" % ", ".join(missing))))
    if missing:
        return out
    pg = environment(services["postgres"])
    known = {"REDPACK_" + s.upper().replace("-", "_") for s in settings if s not in NOT_SETTINGS}
    volumes = set(compose.get("volumes") or {})
    certs = set()
    for name in SIMS:
        sim = services[name]
        env = environment(sim)
        db_ok = database_url_matches(env.get("REDPACK_DB", ""), pg)
        out.append((db_ok, "%s: REDPACK_DB names the postgres service's user, password and "
                    "database" % name))
        unknown = sorted(k for k in env if k.startswith("REDPACK_") and k not in known)
        out.append((not unknown, "%s: every REDPACK_* variable is a setting of redpack-sim%s" % (
            name, "" if not unknown else " (not: %s)" % ", ".join(unknown))))
        vol = volume_at(sim, CERTS)
        certs.add(vol)
        out.append((vol in volumes, "%s: a named volume at %s" % (name, CERTS)))
    out.append((len(certs) == 1, "%s share one certificates volume" % " and ".join(SIMS)))
    out.append((healthy_after(services[SIMS[0]], "postgres") and
                healthy_after(services[SIMS[1]], SIMS[0]),
                "%s starts once postgres is healthy, %s once %s is" % (SIMS[0], SIMS[1], SIMS[0])))

    hap = services["haproxy"]
    out.append((volume_at(hap, HAPROXY_MOUNT[1]) == HAPROXY_MOUNT[0],
                "haproxy mounts %s" % HAPROXY_MOUNT[0]))
    with open(HAPROXY_CFG, encoding="utf-8") as f:
        cfg = f.read()
    named = set(re.findall(r"^\s*server\s+\S+\s+([A-Za-z0-9_.-]+):\d+", cfg, re.M))
    binds = sorted(int(p) for p in re.findall(r"^\s*bind\s+\S*:(\d+)", cfg, re.M))
    published = sorted(container_port(p) or 0 for p in hap.get("ports") or [])
    out.append((named == set(SIMS), "haproxy.cfg's servers are %s (it names %s)" % (
        " and ".join(SIMS), ", ".join(sorted(named)) or "none")))
    out.append((binds == published, "haproxy.cfg binds the ports compose publishes (%s)" % (
        ", ".join(map(str, published)))))
    return out


def main(argv):
    if len(argv) < 2 or argv[1] not in ("check", "env") or (argv[1] == "env" and len(argv) != 3):
        sys.stderr.write(__doc__)
        return 2
    with open(COMPOSE, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    if argv[1] == "env":
        service = (compose.get("services") or {}).get(argv[2])
        if service is None:
            sys.stderr.write("compose-check: no service %s\n" % argv[2])
            return 1
        for k, v in sorted(environment(service).items()):
            print("%s=%s" % (k, v))
        return 0
    failed = 0
    for passed, text in checks(compose, argv[2:]):
        print("%s %s" % ("ok  " if passed else "FAIL", text))
        failed += not passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
