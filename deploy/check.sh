#!/usr/bin/env bash
# Checks deploy/ with what this machine can run when no Docker daemon is available:
#   1. nginx -t on nginx.conf and nginx-compose.conf;
#   2. promtool check rules on alerts.yml (Debian's `prometheus` package), when present;
#   3. compose.yaml and the Dockerfile, statically (every COPY source exists, a non-root USER,
#      a HEALTHCHECK; three nodes with distinct ids on one Redis; nginx in front);
#   4. the compose topology run natively: Redis with redis.conf, three `plenary serve` nodes on
#      it, and nginx with nginx-compose.conf in front (hostnames rewritten to local ports). Two
#      stock y-websocket clients through nginx (round-robin: different nodes) type and converge;
#      nginx's access log holds no token; /metrics is 404 through nginx and needs the scrape
#      token on a node.
# Usage: deploy/check.sh   (PLENARY_BIN defaults to target/debug/plenary; build it first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${PLENARY_BIN:-target/debug/plenary}"
[ -x "$BIN" ] || { echo "no plenary binary at $BIN: cargo build -p plenary-server" >&2; exit 2; }
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
say() { printf '== %s\n' "$*"; }

# A main nginx.conf around a site file, as Debian's /etc/nginx/nginx.conf includes conf.d/*.
nginx_main() { # site-file
  cat > "$work/nginx-main.conf" <<CONF
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events {}
http {
  client_body_temp_path $work/body; proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
  include $1;
}
CONF
}

say "nginx -t"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
sed -e "s#/var/log/nginx/#$work/#g" -e "s#listen 443 ssl;#listen 127.0.0.1:$(free_port) ssl;#" \
  deploy/nginx.conf > "$work/site-prod.conf"
nginx_main "$work/site-prod.conf"
nginx -t -q -c "$work/nginx-main.conf" -p "$work"
echo "deploy/nginx.conf: ok"

redis_port=$(free_port); ports=($(free_port) $(free_port) $(free_port)); front=$(free_port)
sed -e "s#server node1:8080;#server 127.0.0.1:${ports[0]};#" \
    -e "s#server node2:8080;#server 127.0.0.1:${ports[1]};#" \
    -e "s#server node3:8080;#server 127.0.0.1:${ports[2]};#" \
    -e "s#listen 80;#listen 127.0.0.1:$front;#" \
    -e "s#/dev/stdout#$work/access.log#" -e "s#/dev/stderr#$work/nginx-site-error.log#" \
  deploy/nginx-compose.conf > "$work/site-compose.conf"
nginx_main "$work/site-compose.conf"
nginx -t -q -c "$work/nginx-main.conf" -p "$work"
echo "deploy/nginx-compose.conf: ok"

say "alert rules"
if command -v promtool >/dev/null; then
  promtool check rules deploy/alerts.yml
else
  echo "promtool not installed (apt-get install prometheus): skipped"
fi

say "compose.yaml and Dockerfile, statically"
python3 - <<'PY'
import re, sys, os
compose = open("deploy/compose.yaml").read()
for service in ["redis", "node1", "node2", "node3", "nginx"]:
    assert re.search(rf"^  {service}:", compose, re.M), f"compose.yaml has no service {service}"
ids = re.findall(r"PLENARY_NODE_ID: (\w+)", compose)
assert sorted(ids) == ["node1", "node2", "node3"], f"node ids: {ids}"
assert "PLENARY_REDIS: redis://redis:6379/" in compose
for mounted in re.findall(r"- \./([\w.-]+):", compose):
    assert os.path.exists(os.path.join("deploy", mounted)), f"compose.yaml mounts missing deploy/{mounted}"
docker = open("deploy/Dockerfile").read()
stages = docker.split("\nFROM ")
runtime = stages[-1]
for src in re.findall(r"^COPY (?!--from)(\S+)", docker, re.M):
    assert os.path.exists(src), f"Dockerfile copies {src}, which does not exist"
user = re.search(r"^USER (\S+)", runtime, re.M)
assert user and not user.group(1).startswith(("root", "0")), "the runtime stage runs as root"
assert "HEALTHCHECK" in runtime, "no HEALTHCHECK"
rv = re.search(r'rust-version = "([\d.]+)"', open("Cargo.toml").read()).group(1)
assert f"FROM rust:{rv}" in docker, f"the build stage's Rust is not the workspace's rust-version {rv}"
print("deploy/compose.yaml: 5 services, node ids", ids, "\ndeploy/Dockerfile: COPY sources exist, USER", user.group(1), ", HEALTHCHECK, rust", rv)
PY

say "the compose topology, natively: Redis, three nodes, nginx"
mkdir -p "$work/redis"
redis-server deploy/redis.conf --port "$redis_port" --dir "$work/redis" --daemonize no \
  --save "" >"$work/redis.log" 2>&1 &
pids+=($!)
export PLENARY_JWT_SECRET="deploy-check-secret-0123456789abcdef"
export PLENARY_METRICS_TOKEN="deploy-check-scrape-token"
export PLENARY_REDIS="redis://127.0.0.1:$redis_port/"
export PLENARY_LOG=warn
for i in 0 1 2; do
  [ $i -gt 0 ] && extra=(--no-demo) || extra=()
  "$BIN" serve --port "${ports[$i]}" --node-id "node$((i + 1))" --data-dir "$work/node$i" \
    --max-connections-per-address 10000 "${extra[@]}" >"$work/node$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null
done
nginx -c "$work/nginx-main.conf" -p "$work"
token() { "$BIN" token --role "$1" --name "$2" ${3:+--delegation "$3"} --docs '*'; }
chair=$(token chair "Chair")
jpn=$(token delegate "Delegate of Japan" JPN)
fra=$(token delegate "Delegate of France" FRA)
doc=reducing-reoffending
para=$(curl -fsS -H "Authorization: Bearer $chair" "http://127.0.0.1:$front/api/docs/$doc" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["resolution"]; print(next(p["id"] for p in r["paragraphs"] if p["kind"]=="operative"))')
client=tests/interop/interop.mjs
[ -d tests/interop/node_modules ] || (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
node "$client" --url "ws://127.0.0.1:$front/sync" --doc "$doc" --token "$jpn" \
  --edit "insert:$para:end: (said Japan through nginx)" --expect-text "(said France through nginx)" \
  --timeout-ms 20000 >"$work/jpn.out" &
a=$!
node "$client" --url "ws://127.0.0.1:$front/sync" --doc "$doc" --token "$fra" \
  --edit "insert:$para:0:(said France through nginx) " --expect-text "(said Japan through nginx)" \
  --timeout-ms 20000 >"$work/fra.out" &
b=$!
wait $a && wait $b
echo "two stock y-websocket clients through nginx converged"
served=$(for i in 0 1 2; do curl -fsS -H "Authorization: Bearer $PLENARY_METRICS_TOKEN" \
  "http://127.0.0.1:${ports[$i]}/metrics" | awk '/^plenary_join_seconds_count/ {print $2}'; done | paste -sd' ')
echo "joins per node (plenary_join_seconds_count): $served"
sleep 0.5
if grep -q 'token' "$work/access.log"; then
  echo "nginx's access log holds a token:" >&2; grep token "$work/access.log" >&2; exit 1
fi
echo "nginx's access log: $(wc -l <"$work/access.log") lines, no token"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$front/metrics")
[ "$status" = 404 ] || { echo "/metrics through nginx: $status, want 404" >&2; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[0]}/metrics")
[ "$status" = 401 ] || { echo "/metrics without the scrape token: $status, want 401" >&2; exit 1; }
echo "/metrics: 404 through nginx, 401 on a node without the scrape token"
say "deploy/ checks passed"
