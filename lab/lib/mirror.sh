# shellcheck shell=bash
# The "mirror": the VPS's only package source, at http://mirror.lab.test/.
#   /debian/  a flat apt repository (deb [trusted=yes] http://mirror.lab.test/debian ./)
#   /simple/  a PEP 503 index of the wheels in lab/mirror/wheels.txt
# Its content is built in the cache, keyed by the two lists, so a warm
# lab-up only serves it.

mirror_lists() { cat "$LAB_DIR/mirror/packages.txt" "$LAB_DIR/mirror/wheels.txt"; }

mirror_cache_dir() {
  local key
  key="$( { mirror_lists; echo "image-v$LAB_IMAGE_VERSION"; } | sha256sum | cut -c1-16)"
  printf '%s/mirror-%s' "$LAB_CACHE" "$key"
}

list_entries() { sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$1" | awk 'NF'; }

# Fetches the dependency closure of packages.txt that the fresh VPS image
# lacks: apt resolves against the image's dpkg status, not the host's.
mirror_fetch_debs() {
  local out="$1/debian"
  mkdir -p "$out/partial"
  mapfile -t pkgs < <(list_entries "$LAB_DIR/mirror/packages.txt")
  if ((${#pkgs[@]})); then
    apt-get -q -o Dir::State::status="$(image_rootfs base)/var/lib/dpkg/status" \
      -o Dir::Cache::archives="$out" -o Debug::NoLocking=1 \
      -d -y --no-install-recommends install "${pkgs[@]}"
  fi
  rmdir "$out/partial" 2>/dev/null || rm -rf "$out/partial"
  rm -f "$out/lock"
  (cd "$out" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null && gzip -9kf Packages)
  mirror_release "$out"
}

# A Release file with the indexes' checksums, so apt reads the flat repo cleanly.
mirror_release() {
  local dir="$1" f
  {
    printf 'Origin: Roost lab\nLabel: roost-lab\nSuite: lab\nCodename: lab\nDate: %s\n' "$(date -Ru)"
    printf 'SHA256:\n'
    for f in Packages Packages.gz; do
      printf ' %s %s %s\n' "$(sha256sum "$dir/$f" | cut -d' ' -f1)" "$(stat -c %s "$dir/$f")" "$f"
    done
  } >"$dir/Release"
}

mirror_fetch_wheels() {
  local out="$1"
  mkdir -p "$out/wheels"
  if [[ -n "$(list_entries "$LAB_DIR/mirror/wheels.txt")" ]]; then
    "$LAB_VENV/bin/pip" download -q --only-binary=:all: --python-version 3.11 \
      --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --platform any \
      -d "$out/wheels" -r "$LAB_DIR/mirror/wheels.txt"
  fi
  lab_py -m roostlab.simpleindex "$out/wheels" "$out/simple"
}

mirror_build() {
  local dir
  dir="$(mirror_cache_dir)"
  cache_lock
  [[ -f "$dir/.complete" ]] && return 0
  rm -rf "$dir.part"
  mkdir -p "$dir.part"
  mirror_fetch_debs "$dir.part"
  mirror_fetch_wheels "$dir.part"
  touch "$dir.part/.complete"
  rm -rf "$dir" && mv "$dir.part" "$dir"
}

mirror_start() {
  ln -sfn "$(mirror_cache_dir)" "$LAB_STATE/mirror"
  start_bg mirror mirror "$LAB_VENV/bin/python" -m http.server --bind "${LAB_ADDR[mirror]}" \
    --directory "$LAB_STATE/mirror/" 80
  wait_for 20 "the mirror" in_ns ctl curl -sf http://mirror.lab.test/debian/Release
}

mirror_stop() { stop_pid mirror; }
