# Sourced by the scripts that install a missing Debian package for the tests
# (android_demo/jvm-test.sh: JUnit and a JDK; scripts/ensure_browser.sh: Chromium).

# can_apt: succeeds when apt-get may run here (as root, or with password-less sudo), and
# sets SUDO to the prefix it needs.
can_apt() {
    command -v apt-get >/dev/null || return 1
    if [[ $(id -u) -eq 0 ]]; then SUDO=""; return 0; fi
    command -v sudo >/dev/null && sudo -n true 2>/dev/null && SUDO="sudo -n" && return 0
    return 1
}
