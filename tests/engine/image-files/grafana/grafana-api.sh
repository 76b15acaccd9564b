#!/bin/sh
# One HTTP request to the Grafana stand-in (stdin/stdout are the connection): see run.sh.
api=/tmp/grafana-api

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
        if [ -e "$api/$kind/$uid" ]; then
            respond "200 OK" "$body"
        else
            respond "404 Not Found" "{\"message\":\"$kind $uid not found\"}"
        fi
        ;;
esac
