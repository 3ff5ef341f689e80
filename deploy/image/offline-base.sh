#!/usr/bin/env bash
# Makes the worker image's base offline, for hosts that cannot pull node:24-bookworm-slim (CI here):
# `docker import` of a small root file system taken from this machine — its Node 24 binary, npm,
# bubblewrap, tini, setpriv, a shell and the shared libraries they and the native npm packages
# link — the same technique as the runner images (sandboxes/docker/rootfs-plan.ts). Two images:
#   strata-base:<hash>        the runtime base (BASE)
#   strata-base-build:<hash>  the same plus this machine's npm cache (after `npm ci` it holds every package of
#                             the lock file), so `npm ci` needs no network (BUILD_BASE)
# Both are tagged by a hash of their content and skipped when present. Prints the two names as
# `BASE=... BUILD_BASE=...` on stdout; everything else goes to stderr.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
log() { echo "[offline-base] $*" >&2; }

node_bin=$(readlink -f "$repo/node_modules/node/bin/node")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
npm_cache=${STRATA_NPM_CACHE:-$(npm config get cache)}
[ -x "$node_bin" ] || { log "no Node 24 at node_modules/node/bin/node (run npm ci)"; exit 1; }
[ -d "$npm_cache/_cacache" ] || { log "no npm cache at $npm_cache"; exit 1; }

tools=(bwrap tini setpriv prlimit sh dash bash env cat ls mkdir ln rm cp mv chmod chown id echo true test sed grep)
binaries=("$node_bin")
for t in "${tools[@]}"; do
  p=$(type -P "$t" || true)
  [ -n "$p" ] && [ -x "$p" ] && binaries+=("$(readlink -f "$p")")
done
# Native addons of the production dependencies load these libraries too.
while IFS= read -r addon; do binaries+=("$addon"); done < <(find "$repo/node_modules/" -name '*.node' -path '*linux-x64*' 2>/dev/null | grep -v musl || true)

libs() { ldd "$1" 2>/dev/null | sed -n -e 's/.*=> \(\/[^ ]*\).*/\1/p' -e 's/^\s*\(\/[^ ]*\) (.*/\1/p'; }
files=()
for b in "${binaries[@]}"; do
  case "$b" in *.node) ;; *) files+=("$b") ;; esac
  while IFS= read -r l; do files+=("$l"); done < <(libs "$b")
done
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)

# Content hash: this script, every file's path/size/mtime, npm's version.
hash_of() { sha256sum | cut -c1-12; }
base_hash=$( { cat "${BASH_SOURCE[0]}"; for f in "${files[@]}"; do stat -L -c '%n %s %Y' "$f"; done; stat -c '%n %s %Y' "$npm_dir/package.json"; } | hash_of)
# The cache matters only through what the lock file asks of it: a new lock file, a new build base.
cache_hash=$( { echo "$base_hash"; cat "$repo/package-lock.json"; } | hash_of)
base="strata-base:$base_hash"
build="strata-base-build:$cache_hash"

have() { docker image inspect "$1" >/dev/null 2>&1; }
if have "$base" && have "$build"; then
  log "present: $base $build"
  echo "BASE=$base BUILD_BASE=$build"
  exit 0
fi

stage=$(mktemp -d /tmp/strata-base.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,usr/local/lib,etc,tmp,proc,sys,dev,root,run,var/tmp}
chmod 1777 "$root/tmp" "$root/var/tmp"
for top in bin sbin lib lib64; do [ -L "/$top" ] && ln -s "$(readlink "/$top")" "$root/$top"; done
for f in "${files[@]}"; do
  real=$(readlink -f "$f")
  # Merged /usr: a file under /lib goes under /usr/lib (the symlinks above point there).
  target=$(echo "$f" | sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#')
  mkdir -p "$root$(dirname "$target")"
  cp -L --preserve=mode "$real" "$root$target"
done
cp -L --preserve=mode "$node_bin" "$root/usr/local/bin/node"
# The tools under their usual names (a file copied by its real name, e.g. dash, gets its alias back).
for t in "${tools[@]}"; do
  p=$(type -P "$t" || true)
  [ -n "$p" ] || continue
  target=$(echo "$p" | sed -E 's#^/(bin|sbin)/#/usr/\1/#')
  [ -e "$root$target" ] || ln -s "$(readlink -f "$p")" "$root$target"
done
cp -a "$npm_dir" "$root/usr/local/lib/node_modules-npm"
mkdir -p "$root/usr/local/lib/node_modules" && mv "$root/usr/local/lib/node_modules-npm" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\npasswd: files\ngroup: files\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"

changes=(--change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' --change 'CMD ["node"]')
if ! have "$base"; then
  log "importing $base ($(du -sh "$root" | cut -f1))"
  tar -C "$root" -c . | docker import "${changes[@]}" - "$base" >/dev/null
fi
if ! have "$build"; then
  mkdir -p "$root/root/.npm"
  cp -a "$npm_cache/_cacache" "$root/root/.npm/_cacache"
  log "importing $build ($(du -sh "$root" | cut -f1), with the npm cache)"
  tar -C "$root" -c . | docker import "${changes[@]}" - "$build" >/dev/null
fi
echo "BASE=$base BUILD_BASE=$build"
