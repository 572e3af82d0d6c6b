#!/usr/bin/env bash
# Compiles the Go compat suite (compat-tests/go: franz-go's kgo and kadm against the broker) into
# .deps/go/bin/franz_compat.test, which ctest runs as compat_franz_go. The modules come from the Go
# module proxy at the versions go.mod and go.sum pin; GOPATH, the module cache and the build cache
# live under .deps/go/ (deletable: the cache is written with -modcacherw). Nothing is done when the
# binary is newer than every source. scripts/deps.sh --test runs this.
#   scripts/go-tests.sh            build when stale
#   scripts/go-tests.sh --force    build anyway
# Needs Go 1.26 or newer (franz-go v1.22.3's go.mod says go 1.26.0): `go` on PATH or
# /usr/local/go/bin/go. Debian 12's golang-go (1.19) is too old.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/compat-tests/go"
deps="$here/.deps/go"
bin="$deps/bin/franz_compat.test"

if [ "${1:-}" != "--force" ] && [ -x "$bin" ] &&
    [ -z "$(find "$src" -maxdepth 1 \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$bin")" ]; then
    exit 0
fi

# The first Go of at least 1.26 among PATH's and /usr/local/go's.
go_bin=""
found=()
for candidate in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version=$({ "$candidate" env GOVERSION 2>/dev/null || true; } | head -n1)
    found+=("$candidate ($version)")
    if [[ $version =~ ^go([0-9]+)\.([0-9]+) ]] &&
        { [ "${BASH_REMATCH[1]}" -gt 1 ] || [ "${BASH_REMATCH[2]}" -ge 26 ]; }; then
        go_bin=$candidate
        break
    fi
done
if [ -z "$go_bin" ]; then
    echo "go-tests: Go 1.26 or newer is needed to build compat-tests/go (franz-go v1.22.3, kadm v1.20.0);" >&2
    if [ ${#found[@]} -gt 0 ]; then
        echo "go-tests: found only ${found[*]}" >&2
    else
        echo "go-tests: no 'go' on PATH and no /usr/local/go/bin/go" >&2
    fi
    echo "go-tests: Debian 12's golang-go is 1.19, too old: install Go 1.26 as /usr/local/go" >&2
    exit 1
fi

mkdir -p "$deps/bin"
export GOPATH="$deps" GOMODCACHE="$deps/pkg/mod" GOCACHE="$deps/cache" \
    GOFLAGS="-modcacherw -mod=readonly" GOTOOLCHAIN=local CGO_ENABLED=0
cd "$src"
echo "go-tests: building $bin with $("$go_bin" env GOVERSION)"
"$go_bin" mod download
"$go_bin" test -c -o "$bin.tmp" .
mv "$bin.tmp" "$bin"
