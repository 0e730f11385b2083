#!/usr/bin/env bash
# Compile the plain-Java core of the Android demo and its JUnit 5 tests with javac, run them
# with the JUnit console launcher (Debian's junit5 package), and exit non-zero on any failure.
# No Android SDK and no Gradle needed: this is what CI runs (`make test`).
set -euo pipefail
cd "$(dirname "$0")"

LAUNCHER=/usr/share/java/junit-platform-console-standalone.jar
if [[ ! -f "$LAUNCHER" ]]; then
    echo "jvm-test: installing Debian's junit5 (JUnit console launcher)" >&2
    if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq junit5 >/dev/null
fi
command -v javac >/dev/null || { echo "error: javac not found (install a JDK 17+)" >&2; exit 1; }

# The fixtures must still be what the Python side produces (skipped without the project's venv).
PYTHON=../.venv/bin/python
if [[ -x "$PYTHON" ]]; then
    "$PYTHON" ../scripts/make_android_golden.py --check
else
    echo "jvm-test: no ../.venv, not checking that the golden fixtures are current" >&2
fi

# The app's ONNX Runtime runner, against stand-ins for its API (typecheck/).
bash typecheck/check.sh

OUT=build/jvm-test
rm -rf "$OUT"
mkdir -p "$OUT/main" "$OUT/test"
# --release 17: the same language level the Gradle build compiles the core at
javac --release 17 -Xlint:all -Werror -d "$OUT/main" $(find core/src/main/java -name '*.java')
javac --release 17 -Xlint:all,-processing -d "$OUT/test" -cp "$OUT/main:$LAUNCHER" \
    $(find core/src/test/java -name '*.java')
cp -r core/src/test/resources/. "$OUT/test/"

# The launcher's summary is the last thing printed (CI reads it).
exec java -jar "$LAUNCHER" --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests \
    --class-path "$OUT/main:$OUT/test" --scan-class-path "$OUT/test"
