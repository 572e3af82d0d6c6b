#!/usr/bin/env bash
# The Java client compat suite (compat-tests/java/client/) for each pinned kafka-clients version.
#   scripts/java-compat.sh --fetch          resolve and compile the suite once per version into
#                                           .deps/java/client-<version>/ (skipped when the sources
#                                           and the pom are unchanged since the last build)
#   scripts/java-compat.sh --run VERSION [SELECTORS...]
#                                           run it with plain java (no Maven) against $BOOTSTRAP:
#                                           every test, or the JUnit console launcher's selectors
#                                           (e.g. --select-class=compat.client.GroupTest)
# Needs a JDK (17) and Maven for --fetch; --run needs only java.
# JAVA_COMPAT_DEPS=DIR builds into and runs from DIR/client-<version>/ instead of .deps/java/ (a
# branch that changes the suite can then build it without replacing the shared copy).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/compat-tests/java/client"
versions=(3.9.2 4.4.0)
deps_java=${JAVA_COMPAT_DEPS:-$here/.deps/java}

stamp_of() {  # the hash of everything the build reads, plus the version
    (cd "$src" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum; echo "$1") | sha256sum | cut -c1-64
}

fetch_one() {
    local version=$1 out="$deps_java/client-$1" stamp
    stamp=$(stamp_of "$version")
    [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
    if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
        echo "java-compat: needs Maven and a JDK (apt-get install maven)" >&2
        exit 2
    fi
    echo "java-compat: building the suite with kafka-clients $version into $out" >&2
    rm -rf "$out"
    mvn -q -B -Dstyle.color=never -f "$src/pom.xml" -Dmaven.repo.local="$here/.deps/m2" \
        -Dkafka.clients.version="$version" -Dclient.line="${version%%.*}" -Dout="$out" \
        test-compile dependency:copy-dependencies -DoutputDirectory="$out/lib" >&2
    rm -rf "$out/build"
    echo "$stamp" >"$out/.stamp"
}

case "${1:-}" in
    --fetch)
        for v in "${versions[@]}"; do fetch_one "$v"; done
        ;;
    --run)
        version=${2:?--run VERSION}
        shift 2
        out="$deps_java/client-$version"
        if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$(stamp_of "$version")" ]; then
            echo "java-compat: the suite for $version is missing or stale: scripts/deps.sh --test" >&2
            exit 2
        fi
        : "${BOOTSTRAP:?run through lib/broker_process.py or set BOOTSTRAP}"
        exec java -Xmx768m -cp "$out/classes:$out/lib/*" org.junit.platform.console.ConsoleLauncher execute \
            --disable-banner --disable-ansi-colors --include-engine=junit-jupiter --details=tree --details-theme=ascii --fail-if-no-tests \
            "${@:---select-package=compat.client}"
        ;;
    *)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        [ -z "${1:-}" ] || [ "$1" = -h ] || [ "$1" = --help ]
        ;;
esac
