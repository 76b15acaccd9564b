#!/bin/sh
# One HTTP request to the Grafana stand-in (stdin/stdout are the connection): see run.sh.
api=${STAND_IN_API_DIR:-/tmp/grafana-api} # a test may point it elsewhere
health=""

read -r method path _
auth=""
while read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    [ -z "$line" ] && break
    case "$line" in
        [Aa]uthorization:\ [Bb]asic\ *) auth=${line#* * } ;;
    esac
done

respond() {
    printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$1" "${#2}" "$2"
}

# json_text: stdin as the inside of a JSON string (one line).
json_text() {
    tr '\n\r\t' '   ' | sed 's/\\/\\\\/g; s/"/\\"/g; s/ *$//'
}

# loki_health URL: Grafana 12's Loki health check (pkg/tsdb/loki/healthcheck.go): the instant query
# vector(1)+vector(1) with the time range 1 s..4 s after the epoch, sent as pkg/tsdb/loki/api.go
# makeDataRequest sends an instant query (direction=backward, no limit, time = the range's end in ns), and
# OK only when the answer is one sample of value 2. Errors read "There was an error returned querying the
# Loki API.: ..." with HTTP 400, as Grafana's datasource health API answers a failed check.
loki_health() {
    failed="There was an error returned querying the Loki API."
    request="${1%/}/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000"
    if ! answer=$(timeout 30 wget -q -U "Grafana/stand-in" -O - "$request" 2>&1); then
        respond "400 Bad Request" "{\"message\":\"$failed: $(printf '%s' "${answer#wget: }" | json_text)\",\"status\":\"ERROR\"}"
        return
    fi
    flat=$(printf '%s' "$answer" | tr -d ' \n\r\t')
    case "$flat" in
        *'"status":"success"'*) ;;
        *)
            respond "400 Bad Request" "{\"message\":\"$failed: $(printf '%s' "$answer" | head -c 200 | json_text)\",\"status\":\"ERROR\"}"
            return
            ;;
    esac
    if printf '%s' "$flat" | grep -q '"resultType":"vector","result":\[{"metric":{},"value":\[[^],]*,"2"\]}\]'; then
        respond "200 OK" '{"message":"Successfully queried the Loki API.","status":"OK"}'
    elif printf '%s' "$flat" | grep -q '"result":\[\]'; then
        respond "400 Bad Request" "{\"message\":\"$failed: no frames\",\"status\":\"ERROR\"}"
    else
        respond "400 Bad Request" "{\"message\":\"$failed: invalid response\",\"status\":\"ERROR\"}"
    fi
}

path=${path%%\?*}
case "$path" in
    /api/health)
        respond "200 OK" '{"database":"ok","version":"stand-in"}'
        exit 0
        ;;
    /api/*) ;;
    *)
        respond "200 OK" '{"stand-in":"grafana"}'
        exit 0
        ;;
esac

if [ "$auth" != "$(cat "$api/login")" ]; then
    respond "401 Unauthorized" '{"message":"Unauthorized"}'
    exit 0
fi
case "$path" in
    /api/datasources/uid/*/health)
        uid=${path#/api/datasources/uid/}
        uid=${uid%/health}
        kind=datasources
        health=yes
        body='{"status":"OK","message":"stand-in: datasource is working"}'
        ;;
    /api/datasources/uid/*)
        uid=${path#/api/datasources/uid/}
        kind=datasources
        body="{\"uid\":\"$uid\"}"
        ;;
    /api/dashboards/uid/*)
        uid=${path#/api/dashboards/uid/}
        kind=dashboards
        body="{\"dashboard\":{\"uid\":\"$uid\"},\"meta\":{\"provisioned\":true}}"
        ;;
    *)
        respond "404 Not Found" '{"message":"Not found"}'
        exit 0
        ;;
esac
case "$uid" in
    */* | .* | "") respond "404 Not Found" '{"message":"Not found"}' ;;
    *)
        if [ ! -e "$api/$kind/$uid" ]; then
            respond "404 Not Found" "{\"message\":\"$kind $uid not found\"}"
        elif [ -n "$health" ] && grep -qx 'type=loki' "$api/$kind/$uid"; then
            loki_health "$(sed -n 's/^url=//p' "$api/$kind/$uid")"
        else
            respond "200 OK" "$body"
        fi
        ;;
esac
