# shellcheck shell=bash
# ensure_chromium: installs Debian's chromium package unless a `chromium` binary is already on
# PATH, then exports TAXISTREAM_CHROMIUM as the binary's absolute path (for scripts/report_browser.py).
ensure_chromium() {
  local log
  local -a sudo=()
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    echo "installing chromium (once; about a minute)" >&2
    log=$(mktemp /tmp/taxistream-chromium-install.XXXXXX)
    # apt-get's progress goes to a log, shown only when the install fails.
    if ! { "${sudo[@]}" apt-get update -qq \
      && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
      tail -n 20 "$log" >&2
      echo "ensure_chromium: installing the Debian package chromium failed (log $log)" >&2
      return 1
    fi
    rm -f "$log"
    if ! command -v chromium >/dev/null 2>&1; then
      echo "ensure_chromium: chromium was installed but is not on PATH" >&2
      return 1
    fi
  fi
  TAXISTREAM_CHROMIUM="$(command -v chromium)"
  export TAXISTREAM_CHROMIUM
}
