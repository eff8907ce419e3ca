# shellcheck shell=bash
# python_env DIR REQUIREMENTS: a venv at DIR holding exactly REQUIREMENTS, reinstalled only when
# that file changes (a stamp holds its hash).
python_env() {
  local dir="$1" requirements="$2" stamp hash
  stamp="$dir/.requirements.sha256"
  hash=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    return 0
  fi
  echo "installing $requirements into $dir (once; about a minute)" >&2
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$hash" > "$stamp"
}
