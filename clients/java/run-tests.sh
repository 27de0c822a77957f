#!/usr/bin/env bash
# Builds the JUnit 5 helper (src/main), its tests (src/test) and the example
# (examples/) with javac against Debian's junit5 jars, then runs them with the
# JUnit platform console launcher. No Maven, no download.
#   REDPACK_SIM=build/redpack-sim clients/java/run-tests.sh [console launcher options]
# JUNIT_JARS (default /usr/share/java) is where the junit5 jars are.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jars=${JUNIT_JARS:-/usr/share/java}

command -v javac >/dev/null || { echo "run-tests.sh: javac not found (scripts/setup.sh installs default-jdk-headless)" >&2; exit 1; }
standalone=$jars/junit-platform-console-standalone.jar
[ -f "$standalone" ] || { echo "run-tests.sh: $standalone not found (scripts/setup.sh installs junit5)" >&2; exit 1; }

cp=""
for j in junit-jupiter-api opentest4j junit-platform-commons apiguardian-api; do
  [ -f "$jars/$j.jar" ] || { echo "run-tests.sh: $jars/$j.jar not found (install junit5)" >&2; exit 1; }
  cp="$cp:$jars/$j.jar"
done
cp=${cp#:}

out=$(mktemp -d "${TMPDIR:-/tmp}/redpack-sim-java.XXXXXX")
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/main" "$out/test"

find "$here/src/main/java" -name '*.java' > "$out/main.list"
javac -encoding UTF-8 -Xlint:all -Werror -d "$out/main" -cp "$cp" @"$out/main.list"
{ find "$here/src/test/java" -name '*.java'; find "$here/examples" -name '*.java'; } > "$out/test.list"
javac -encoding UTF-8 -Xlint:all,-serial -d "$out/test" -cp "$cp:$out/main" @"$out/test.list"

# not exec: the EXIT trap removes the classes
rc=0
java -Dredpacksim.source="$root" -jar "$standalone" \
  --class-path "$out/main:$out/test" --scan-class-path "$out/test" \
  --include-engine=junit-jupiter --disable-banner --disable-ansi-colors \
  --details=tree --fail-if-no-tests "$@" || rc=$?
exit $rc
