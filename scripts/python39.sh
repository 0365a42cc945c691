#!/usr/bin/env bash
# CPython 3.9, the oldest interpreter the abi3 wheel promises to serve, for the wheel's test
# (scripts/test-wheel.sh). This machine's Debian (bookworm) carries only 3.11, so the
# interpreter comes from the previous Debian release (bullseye, CPython 3.9.2), unpacked
# into a folder of the project's (nothing is installed system-wide):
#
#   bash scripts/python39.sh [DIR]     prints the path of a working python3.9 (DIR: where to
#                                      unpack, default target/python39); exit 1 and a message
#                                      on stderr when it cannot be had
#
# Every file is checked before use: the archive's InRelease against Debian's signing keys
# (gpgv and debian-archive-keyring, both on every Debian), the package index against the
# SHA256 that InRelease lists, and each package against the SHA256 the index lists.
# Needs curl, gpgv, xz and dpkg-deb.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(realpath -m "${1:-target/python39}")
mirror=${PLURIVERSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bullseye
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# The interpreter, its standard library, and the two libraries bookworm has only in newer
# versions (OpenSSL 1.1 for ssl, libffi 7 for ctypes); distutils and lib2to3, which Debian
# packages apart and pip's build tools still import.
packages=(python3.9-minimal libpython3.9-minimal libpython3.9-stdlib python3.9
    libffi7 libssl1.1 python3-distutils python3-lib2to3)

fail() { echo "python39.sh: $*" >&2; exit 1; }
python=$dir/usr/bin/python3.9
libs=$dir/usr/lib/x86_64-linux-gnu
if [ -x "$python" ] && LD_LIBRARY_PATH=$libs "$python" -c 'import ssl, ctypes' 2>/dev/null; then
    echo "$python"
    exit 0
fi
[ "$(uname -m)" = x86_64 ] || fail "only x86_64 is set up here (found $(uname -m))"
for c in curl gpgv xz dpkg-deb sha256sum; do
    command -v "$c" >/dev/null || fail "$c is not installed"
done
[ -f "$keyring" ] || fail "$keyring is missing (Debian's package debian-archive-keyring)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
get() { curl -sSf --max-time 120 -o "$2" "$mirror/$1" || fail "could not fetch $mirror/$1"; }

get "dists/$suite/InRelease" "$work/InRelease"
gpgv --quiet --keyring "$keyring" "$work/InRelease" 2>/dev/null ||
    fail "dists/$suite/InRelease does not carry a good signature from Debian's archive keys"
index_sha=$(awk '/^SHA256:/{s=1; next} /^[A-Za-z]/{s=0} s && $3=="main/binary-amd64/Packages.xz"{print $1}' "$work/InRelease")
[ -n "$index_sha" ] || fail "InRelease lists no main/binary-amd64/Packages.xz"
get "dists/$suite/main/binary-amd64/Packages.xz" "$work/Packages.xz"
echo "$index_sha  $work/Packages.xz" | sha256sum --quiet -c - || fail "Packages.xz does not match InRelease"
xz -dc "$work/Packages.xz" >"$work/Packages"

rm -rf "$dir.partial"
mkdir -p "$dir.partial"
for p in "${packages[@]}"; do
    read -r file sha < <(awk -v p="$p" '
        $1=="Package:" {cur=$2; f=""; s=""}
        cur==p && $1=="Filename:" {f=$2}
        cur==p && $1=="SHA256:" {s=$2}
        cur==p && f!="" && s!="" {print f, s; exit}' "$work/Packages")
    [ -n "${file:-}" ] || fail "$suite has no package $p"
    get "$file" "$work/$p.deb"
    echo "$sha  $work/$p.deb" | sha256sum --quiet -c - || fail "$p does not match the index"
    dpkg-deb -x "$work/$p.deb" "$dir.partial"
done
rm -rf "$dir"
mv "$dir.partial" "$dir"
LD_LIBRARY_PATH=$libs "$python" -c 'import ssl, ctypes, sys; assert sys.version_info[:2] == (3, 9)' ||
    fail "the unpacked python3.9 does not start"
echo "$python"
