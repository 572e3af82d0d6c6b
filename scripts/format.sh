#!/usr/bin/env bash
# Formats the project's C++ sources with clang-format-14 and the root .clang-format.
#   scripts/format.sh           rewrite every tracked .h/.cpp in place
#   scripts/format.sh --check   change nothing; list the files that differ and exit 1 if any do
# (ctest runs the check as the test `format.check`, label `lint`.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tool=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$tool" >/dev/null 2>&1; then
    echo "format: $tool is not installed (scripts/deps.sh --test installs it)" >&2
    exit 2
fi
# The tracked sources; outside a git checkout (an exported tree), every source file outside the
# build trees and installed client packages.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files -- '*.h' '*.cpp')
else
    mapfile -t files < <(find . \( -path './build*' -o -name node_modules -o -name '.venv*' \) -prune \
                              -o -type f \( -name '*.h' -o -name '*.cpp' \) -print | sed 's#^\./##' | sort)
fi
if [ "${1:-}" != "--check" ]; then
    printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$tool" -i
    exit 0
fi
differ=()
for f in "${files[@]}"; do
    if ! "$tool" --dry-run --Werror "$f" >/dev/null 2>&1; then
        differ+=("$f")
    fi
done
if [ ${#differ[@]} -gt 0 ]; then
    echo "format: ${#differ[@]} file(s) differ from .clang-format (run scripts/format.sh):" >&2
    printf '  %s\n' "${differ[@]}" >&2
    exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
