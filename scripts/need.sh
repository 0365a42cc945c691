# Sourced by the test scripts: installs what a test needs with apt-get when it is missing and
# that is possible (root, or sudo without a password), and fails with a clear message when not.
#
#   need COMMAND PACKAGE     the command on PATH, else PACKAGE is installed
#   need_font                a TrueType/OpenType font file (the PNG plot test), else
#                            fonts-dejavu-core is installed

need_fail() { echo "error: $*" >&2; exit 1; }

need_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
    fi
    if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" \
            || need_fail "apt-get could not install $1; install it by hand"
    fi
}

need() {
    command -v "$1" >/dev/null && return
    echo "== $1 is missing: installing $2 with apt-get"
    need_install "$2"
    command -v "$1" >/dev/null || need_fail "$1 is not installed and cannot be installed here (need apt-get and root): install $2"
}

has_font() {
    local d
    for d in /usr/share/fonts /usr/local/share/fonts "$HOME/.local/share/fonts" "$HOME/.fonts" ${PLURIVERSE_FONT_DIR:+"$PLURIVERSE_FONT_DIR"}; do
        [ -d "$d" ] && find "$d" -type f \( -iname '*.ttf' -o -iname '*.otf' -o -iname '*.ttc' \) -print -quit 2>/dev/null | grep -q . && return 0
    done
    return 1
}

need_font() {
    has_font && return
    echo "== no font file for the PNG plot: installing fonts-dejavu-core with apt-get"
    need_install fonts-dejavu-core
    has_font || need_fail "no TrueType/OpenType font and none can be installed here: install fonts-dejavu-core, or set PLURIVERSE_FONT_DIR"
}
