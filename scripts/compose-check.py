#!/usr/bin/python3
"""Reads docker/compose.team.yaml the way Docker Compose would, without a
Docker engine, and checks what the team sandbox relies on. Needs PyYAML
(Debian's python3-yaml); scripts/docker-check.sh runs it.

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
from urllib.parse import urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DOCKER = os.path.join(HERE, "..", "docker")
COMPOSE = os.path.join(DOCKER, "compose.team.yaml")
HAPROXY_CFG = os.path.join(DOCKER, "haproxy", "haproxy.cfg")
SIMS = ("redpack-sim-1", "redpack-sim-2")
CERTS = "/var/lib/redpack-sim/certs"
HAPROXY_MOUNT = ("./haproxy/haproxy.cfg", "/usr/local/etc/haproxy/haproxy.cfg")


def default(value):
    """A value as Compose gives it when no variable is set."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", str(value))


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: default(v) for k, v in env.items()}


def volume_at(service, target):
    for v in service.get("volumes") or []:
        parts = v.split(":") if isinstance(v, str) else [v.get("source"), v.get("target")]
        if len(parts) >= 2 and parts[1] == target:
            return parts[0]
    return None


def healthy_after(service, other):
    dep = (service.get("depends_on") or {}).get(other)
    return isinstance(dep, dict) and dep.get("condition") == "service_healthy"


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
    known = {"REDPACK_" + s.upper().replace("-", "_") for s in settings}
    volumes = set(compose.get("volumes") or {})
    certs = set()
    for name in SIMS:
        sim = services[name]
        env = environment(sim)
        url = urlsplit(env.get("REDPACK_DB", ""))
        db_ok = (url.scheme in ("postgresql", "postgres") and url.hostname == "postgres" and
                 url.port == 5432 and url.username == pg.get("POSTGRES_USER") and
                 url.password == pg.get("POSTGRES_PASSWORD") and
                 url.path.lstrip("/") == pg.get("POSTGRES_DB"))
        out.append((db_ok, "%s: REDPACK_DB names the postgres service's user, password and "
                    "database" % name))
        unknown = sorted(set(env) - known)
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
    published = sorted(int(str(p).rsplit(":", 1)[1]) for p in hap.get("ports") or [])
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
