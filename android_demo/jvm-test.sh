#!/usr/bin/env bash
# Compile the plain-Java core of the Android demo and its JUnit 5 tests with javac, run them
# with the JUnit console launcher, and exit non-zero on any failure. No Android SDK and no
# Gradle needed: this is what CI runs (`make test`).
#
# It needs a JDK 17+ and the JUnit 5 console launcher (junit-platform-console-standalone.jar),
# found in this order:
#   $JUNIT_CONSOLE_JAR                                    (any copy you point it at)
#   /usr/share/java/junit-platform-console-standalone.jar (Debian/Ubuntu: apt-get install junit5)
#   ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/*/...jar  (Maven)
# or download it once from Maven Central (org.junit.platform:junit-platform-console-standalone)
# and set JUNIT_CONSOLE_JAR. When none is found and apt-get can run (as root, or with sudo that
# asks for no password), Debian's junit5 (and a JDK, if javac is missing) is installed, and one
# line says so; VMF_INSTALL_JUNIT=0 turns that off.
set -euo pipefail
cd "$(dirname "$0")"

find_launcher() {
    local candidate
    for candidate in "${JUNIT_CONSOLE_JAR:-}" /usr/share/java/junit-platform-console-standalone.jar \
        "$HOME"/.m2/repository/org/junit/platform/junit-platform-console-standalone/*/junit-platform-console-standalone-*.jar; do
        if [[ -n "$candidate" && -f "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

source ../scripts/apt.sh  # can_apt

apt_install() {  # apt_install WHY PACKAGE...
    echo "jvm-test: $1: installing Debian's ${*:2} with apt-get" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${@:2}" >/dev/null
}

WANT=()
command -v javac >/dev/null || WANT+=(default-jdk-headless)
LAUNCHER=$(find_launcher) || WANT+=(junit5)
if [[ ${#WANT[@]} -gt 0 ]]; then
    if [[ "${VMF_INSTALL_JUNIT:-1}" != 0 ]] && can_apt; then
        apt_install "not found" "${WANT[@]}"
        LAUNCHER=$(find_launcher) || { echo "error: junit5 installed but no console launcher found" >&2; exit 1; }
    elif [[ " ${WANT[*]} " == *" junit5 "* ]]; then
        echo "error: no JUnit 5 console launcher found; install one (apt-get install junit5, or" \
             "download junit-platform-console-standalone from Maven Central and set" \
             "JUNIT_CONSOLE_JAR), see the top of android_demo/jvm-test.sh" >&2
        exit 1
    fi
fi
command -v javac >/dev/null || { echo "error: javac not found (install a JDK 17+)" >&2; exit 1; }

# The fixtures must still be what the Python side produces (skipped without the project's venv).
PYTHON=../.venv/bin/python
if [[ -x "$PYTHON" ]]; then
    "$PYTHON" ../scripts/make_android_golden.py --check
else
    echo "jvm-test: no ../.venv, not checking that the golden fixtures are current" >&2
fi

# The app's ONNX Runtime and ExecuTorch runners, against stand-ins for their APIs (typecheck/).
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
