#!/usr/bin/env bash
# Builds the release binary fully static (glibc, SQLite, zlib, BoringSSL and the Swift
# runtime inside; `-static-executable`, in its own scratch folder), strips it, and
# packages it twice:
#   dist/veil-<version>-linux-<arch>.tar.gz  the binary, a commented veil.yaml, the
#                                            systemd unit and the README's run sections
#   dist/veil_<version>_<debian-arch>.deb    /usr/bin/veil, /etc/veil/veil.yaml (a
#                                            conffile), the hardened unit, a `veil` user
# Needs: swift, dpkg-deb, binutils (strip). Usage: bash scripts/package.sh [outdir]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# The static C libraries come from the -dev packages (libc6-dev, libsqlite3-dev, zlib1g-dev).
flags=(-c release --product veil --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static)
# The linker notes that getaddrinfo and getpwuid load glibc's NSS modules at run time
# (only a host name in `listen` needs them); those lines are left out of the output.
buildlog="$(mktemp)"
if ! swift build "${flags[@]}" >"$buildlog" 2>&1; then cat "$buildlog"; rm -f "$buildlog"; exit 1; fi
grep -v "statically linked applications requires at runtime" "$buildlog" | tail -3
rm -f "$buildlog"
bin="$(swift build "${flags[@]}" --show-bin-path)/veil"
{ ldd "$bin" 2>&1 || true; } | grep -q "not a dynamic executable" || { echo "package: $bin is not statically linked" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$bin" "$work/veil"
strip "$work/veil"
version="$("$work/veil" version | awk '{print $2}')"
arch="$(uname -m)"
debarch="$(dpkg --print-architecture)"

# The config every key commented, as `veil init` writes it, with the packaged data folder.
"$work/veil" init "$work/veil.yaml" >/dev/null
sed -i 's|^data_dir: ./veil-data$|data_dir: /var/lib/veil|' "$work/veil.yaml"
grep -q '^data_dir: /var/lib/veil$' "$work/veil.yaml" || { echo "package: the default config's data_dir line changed; update scripts/package.sh" >&2; exit 1; }

# The README's sections on running Veil (from the title to the end of operations).
awk '/^## HTTP API/{skip=1} /^## Storage and operations/{skip=0} /^## Release build/{exit} !skip' README.md > "$work/README.md"

# Tarball.
name="veil-$version-linux-$arch"
mkdir -p "$work/$name"
cp "$work/veil" "$work/veil.yaml" "$work/README.md" packaging/veil.service "$work/$name/"
tar -C "$work" -czf "$out/$name.tar.gz" --owner=0 --group=0 "$name"

# Debian package.
root="$work/deb"
install -D -m 0755 "$work/veil" "$root/usr/bin/veil"
install -D -m 0640 "$work/veil.yaml" "$root/etc/veil/veil.yaml"
install -D -m 0644 packaging/veil.service "$root/lib/systemd/system/veil.service"
install -D -m 0644 "$work/README.md" "$root/usr/share/doc/veil/README.md"
mkdir -p "$root/DEBIAN"
echo "/etc/veil/veil.yaml" > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/control" <<CONTROL
Package: veil
Version: $version
Architecture: $debarch
Maintainer: Veil maintainers <veil@localhost>
Depends: adduser
Section: web
Priority: optional
Installed-Size: $(du -k -s "$root" | cut -f1)
Description: privacy-first, self-hosted product analytics
 One binary: a first-party tracking snippet, SQLite storage with durable batched
 writes, hashed visitors, PII scrubbing, dashboards, session replay with masking,
 and data-subject export and erasure. Configure /etc/veil/veil.yaml, then
 systemctl enable --now veil.
CONTROL
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    # A system user of its own; the config holds tokens, so only root and veil read it.
    if ! getent passwd veil >/dev/null; then
        adduser --system --group --home /var/lib/veil --no-create-home --quiet veil
    fi
    chown root:veil /etc/veil/veil.yaml
    chmod 0640 /etc/veil/veil.yaml
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null 2>&1 || true
        echo "Veil is installed. Edit /etc/veil/veil.yaml, then: systemctl enable --now veil"
    fi
fi
exit 0
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop veil >/dev/null 2>&1 || true
fi
exit 0
PRERM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
dpkg-deb --root-owner-group --build "$root" "$out/veil_${version}_${debarch}.deb" >/dev/null

echo "package: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1))"
echo "package: $out/veil_${version}_${debarch}.deb ($(du -h "$out/veil_${version}_${debarch}.deb" | cut -f1))"
