#!/bin/sh
# Test stand-in for grafana/grafana's /run.sh (Grafana is AGPL and cannot be built here).
# It makes the start-up checks the real image makes, then answers the parts of the HTTP API that
# llama-telemetry uses, the way Grafana 12 does:
#   /api/health at once, without a login;
#   /api/datasources/uid/UID (+ /health) for every datasource in the provisioning files, with the admin login
#   (a Loki datasource's health is Grafana's real check: a query to the Loki at its URL, see grafana-api.sh);
#   /api/dashboards/uid/UID for every dashboard file the dashboard providers point at, with the admin
#   login, only after a delay: Grafana provisions dashboards while its HTTP server already answers.
# Without GF_PLUGINS_PREINSTALL_DISABLED=true it logs the errors an offline Grafana logs when it tries
# to download its preinstalled plugins.

# The servers run in the background and the shell (PID 1) watches them: TERM/INT end everything at
# once (a PID 1 that ignores TERM makes every stop wait for the engine's kill timeout), and a server
# that dies on its own makes the container exit non-zero.
server_pids=""
stop() {
    trap - TERM INT
    [ -z "$server_pids" ] || kill $server_pids 2>/dev/null
    exit "${1:-0}"
}
trap 'stop 0' TERM INT

config=${GF_PATHS_CONFIG:-/etc/grafana/grafana.ini}
data=${GF_PATHS_DATA:-/var/lib/grafana}
provisioning=${GF_PATHS_PROVISIONING:-/etc/grafana/provisioning}
api=${STAND_IN_API_DIR:-/tmp/grafana-api} # a test may point it elsewhere
DASHBOARD_PROVISIONING_DELAY=${STAND_IN_DASHBOARD_DELAY:-1.5}

if [ ! -r "$config" ]; then
    echo "GF_PATHS_CONFIG='$config' is not readable."
    exit 1
fi
if [ ! -w "$data" ]; then
    echo "GF_PATHS_DATA='$data' is not writable."
    echo "You may have issues with file permissions, more information here: http://docs.grafana.org/installation/docker/#migrate-to-v51-or-later"
    exit 1
fi

unreadable() {
    echo "logger=provisioning level=error msg=\"Failed to read $1\" error=\"open $1: permission denied\"" >&2
    exit 1
}

# read_tree DIR: read every file below DIR, as Grafana's provisioning does.
read_tree() {
    local entry
    [ -r "$1" ] && [ -x "$1" ] || unreadable "$1"
    for entry in "$1"/*; do
        if [ -d "$entry" ]; then
            read_tree "$entry"
        elif [ -e "$entry" ]; then
            cat "$entry" >/dev/null 2>&1 || unreadable "$entry"
        fi
    done
}
read_tree "$provisioning"

if [ -e "$data/grafana.db" ]; then
    echo "logger=sqlstore level=info msg=\"Using existing database\" path=$data/grafana.db"
else
    : >"$data/grafana.db" || exit 1
    echo "logger=sqlstore level=info msg=\"Created database\" path=$data/grafana.db"
fi

if [ "$GF_PLUGINS_PREINSTALL_DISABLED" != true ]; then
    for plugin in grafana-lokiexplore-app grafana-pyroscope-app; do
        echo "logger=plugin.backgroundinstaller level=error msg=\"Failed to install plugin\" pluginId=$plugin error=\"dial tcp: lookup grafana.com: no such host\"" >&2
    done
fi

# yaml_values KEY FILE...: the values of `KEY: value` lines (quoted or not).
yaml_values() {
    key=$1
    shift
    sed -n "s/^[ -]*$key: *[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\} *\$/\1/p" "$@" 2>/dev/null
}

# datasource_entries FILE...: "uid type url" of each entry of the files' datasources lists (the keys of
# the entry itself, not those nested below it, such as jsonData.derivedFields[].url).
datasource_entries() {
    awk '
        function flush() { if (uid != "") print uid, (type == "" ? "-" : type), (url == "" ? "-" : url); uid = type = url = "" }
        function unquoted(text) { sub(/^[ \t]+/, "", text); sub(/[ \t]+$/, "", text); if (text ~ /^".*"$/ || text ~ /^\047.*\047$/) text = substr(text, 2, length(text) - 2); return text }
        FNR == 1 { flush(); inlist = 0 }
        /^datasources:/ { inlist = 1; item = -1; keys = -1; next }
        inlist && /^[^ #-]/ { flush(); inlist = 0 }
        !inlist { next }
        {
            line = $0
            if (match(line, /^ *- /)) {
                if (item < 0) item = RLENGTH - 2
                if (RLENGTH - 2 == item) { flush(); keys = RLENGTH; line = sprintf("%" RLENGTH "s", "") substr(line, RLENGTH + 1) }
            }
            if (keys >= 0 && match(line, /^ *[A-Za-z_]+:/) && match(line, /[^ ]/) - 1 == keys) {
                key = line; sub(/^ */, "", key); sub(/:.*/, "", key)
                value = line; sub(/^[^:]*:/, "", value)
                if (key == "uid") uid = unquoted(value)
                else if (key == "type") type = unquoted(value)
                else if (key == "url") url = unquoted(value)
            }
        }
        END { flush() }
    ' "$@" 2>/dev/null
}

mkdir -p "$api/datasources" "$api/dashboards"
printf '%s' "${GF_SECURITY_ADMIN_USER:-admin}:${GF_SECURITY_ADMIN_PASSWORD:-admin}" | base64 >"$api/login"
# Datasources are provisioned before the HTTP server starts; the API's health check reads each one's type
# and URL back.
datasource_entries "$provisioning"/datasources/*.yaml | while read -r uid type url; do
    printf 'type=%s\nurl=%s\n' "$type" "$url" >"$api/datasources/$uid"
    echo "logger=provisioning.datasources level=info msg=\"inserting datasource from configuration\" uid=$uid"
done

nc -ll -p 3000 -e /lib/stand-in/grafana-api.sh &
server_pids="$server_pids $!"
echo 'logger=http.server level=info msg="HTTP Server Listen" address=[::]:3000 protocol=http'

# Dashboards: while the HTTP server already answers, like Grafana's dashboard provisioner.
(
    sleep "$DASHBOARD_PROVISIONING_DELAY"
    for folder in $(yaml_values path "$provisioning"/dashboards/*.yaml); do
        for file in "$folder"/*.json; do
            [ -e "$file" ] || continue
            uid=$(sed -n 's/^  "uid": *"\([^"]*\)",\{0,1\}$/\1/p' "$file" | head -n 1)
            if [ -z "$uid" ]; then
                echo "logger=provisioning.dashboard level=error msg=\"failed to load dashboard\" file=$file error=\"dashboard has no uid\"" >&2
                continue
            fi
            : >"$api/dashboards/$uid"
            echo "logger=provisioning.dashboard level=info msg=\"saving dashboard\" uid=$uid file=$file"
        done
    done
) &

while :; do
    for pid in $server_pids; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "stand-in: server process $pid exited unexpectedly" >&2
            stop 1
        fi
    done
    # `wait` returns as soon as a trapped signal arrives, `sleep` would not.
    sleep 1 &
    wait $!
done
