#!/usr/bin/env bash
# Formats the C sources with clang-format and the repository's
# .clang-format, or checks them:
#   scripts/format.sh           rewrite every C file that differs
#   scripts/format.sh --check   list the files that differ and exit 1 (CI)
# The files: server/ (src, ctl, bench) and tests/ (unit, fuzz), *.c and *.h.
set -euo pipefail
cd "$(dirname "$0")/.."
prog=format
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "$prog: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac
cf=$(command -v clang-format || true)
[ -n "$cf" ] || { echo "$prog: clang-format is missing (scripts/setup.sh installs it)" >&2; exit 2; }
mapfile -t files < <(git ls-files -- 'server/*.c' 'server/*.h' 'tests/*.c' 'tests/*.h')
bad=()
for f in "${files[@]}"; do
  if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
    bad+=("$f")
    [ "$check" = 1 ] || "$cf" --style=file -i "$f"
  fi
done
if [ "$check" = 1 ] && [ ${#bad[@]} -gt 0 ]; then
  echo "$prog: ${#bad[@]} file(s) differ from .clang-format (run scripts/format.sh):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
[ "$check" = 1 ] && echo "$prog: ${#files[@]} files match .clang-format" || echo "$prog: ${#bad[@]} file(s) formatted"
