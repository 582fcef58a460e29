# shellcheck shell=bash
# The "mirror": the VPS's only package source, at http://mirror.lab.test/.
#   /debian/  a flat apt repository (deb [trusted=yes] http://mirror.lab.test/debian ./)
#   /simple/  a PEP 503 index of the wheels in lab/mirror/wheels.txt
# Its content is built in the cache, keyed by the two lists, so a warm
# lab-up only serves it.

mirror_lists() { cat "$LAB_DIR/mirror/packages.txt" "$LAB_DIR/mirror/wheels.txt"; }

# Local projects listed in wheels.txt (./server, say): their content is part
# of the cache key, so an edited project is rebuilt.
mirror_local_projects() {
  list_entries "$LAB_DIR/mirror/wheels.txt" | grep -E '^\.{1,2}/' || true
}

mirror_local_digest() {
  local project
  while read -r project; do
    (cd "$REPO_DIR" && find "$project" -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' \
      ! -path '*/.pytest_cache/*' ! -path "$project/build/*" -print0 | sort -z | xargs -0 -r sha256sum)
  done < <(mirror_local_projects)
}

mirror_cache_dir() {
  local key
  key="$( { mirror_lists; mirror_local_digest; echo "image-v$LAB_IMAGE_VERSION"; } | sha256sum | cut -c1-16)"
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

# Wheels for everything in wheels.txt and its dependencies. The venv's
# Python is Debian 12's, as on the VPS, so what pip builds or picks here
# installs there. Local paths (./server) are relative to the repository.
mirror_fetch_wheels() {
  local out="$1" project tmp
  local pip=("$LAB_VENV/bin/pip" wheel -q --disable-pip-version-check -w "$out/wheels")
  mkdir -p "$out/wheels"
  tmp="$(mktemp -d)"
  # Local projects are built from a copy: building in place would leave
  # build/ and *.egg-info in someone else's tree.
  while read -r project; do
    cp -r "$REPO_DIR/$project" "$tmp/"
    "${pip[@]}" --no-deps "$tmp/$(basename "$project")"
  done < <(mirror_local_projects)
  list_entries "$LAB_DIR/mirror/wheels.txt" | grep -vE '^\.{1,2}/' >"$tmp/requirements.txt" || true
  # The dependencies of everything: the remote requirements and the local wheels.
  if [[ -s "$tmp/requirements.txt" ]] || compgen -G "$out/wheels/*.whl" >/dev/null; then
    "${pip[@]}" -r "$tmp/requirements.txt" "$out"/wheels/*.whl
  fi
  rm -rf "$tmp"
  lab_py -m roostlab.simpleindex "$out/wheels" "$out/simple"
}

mirror_build() {
  local dir
  dir="$(mirror_cache_dir)"
  # lab-up serves what was built here, even if a listed project changes meanwhile.
  mkdir -p "$LAB_STATE" && printf '%s\n' "$dir" >"$LAB_STATE/mirror.dir"
  cache_lock
  mirror_prune "$dir"
  touch "$dir" 2>/dev/null || true
  [[ -f "$dir/.complete" ]] && return 0
  rm -rf "$dir.part"
  mkdir -p "$dir.part"
  mirror_fetch_debs "$dir.part"
  mirror_fetch_wheels "$dir.part"
  touch "$dir.part/.complete"
  rm -rf "$dir" && mv "$dir.part" "$dir"
}

# Mirror builds of other list versions, unused for a day, are dropped.
mirror_prune() {
  local current="$1" dir
  for dir in "$LAB_CACHE"/mirror-*; do
    [[ -d "$dir" && "$dir" != "$current" ]] || continue
    if [[ -n "$(find "$dir" -maxdepth 0 -mmin +1440)" ]]; then rm -rf "$dir"; fi
  done
}

mirror_start() {
  ln -sfn "$(cat "$LAB_STATE/mirror.dir")" "$LAB_STATE/mirror"
  start_bg mirror mirror "$LAB_VENV/bin/python" -m http.server --bind "${LAB_ADDR[mirror]}" \
    --directory "$LAB_STATE/mirror/" 80
  wait_service mirror 20 "the mirror" in_ns ctl curl -sf http://mirror.lab.test/debian/Release
}

mirror_stop() { stop_pid mirror; }
