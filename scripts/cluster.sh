#!/usr/bin/env bash
# Runs three nodes of an app binary as one cluster on 127.0.0.1 (make cluster APP=chat):
# each node embeds a NATS server routed to the other two (-cluster-peers), so the three
# form a JetStream cluster (R3, sync_interval: always). Any node serves any object: open
# the app through node 1 and node 3, kill one (kill -9 PID), keep going through another.
# Ctrl-C stops every node; the data stays in DIR for the next run.
#
# Usage: scripts/cluster.sh BIN [extra flags for every node]
# Environment: CLUSTER_HTTP_PORT (first HTTP port, default 8801), CLUSTER_ROUTE_PORT
# (first NATS route port, default 6801), CLUSTER_DIR (default data/cluster-<app>).
set -euo pipefail
bin=${1:?usage: scripts/cluster.sh BIN [flags]}
shift
name=$(basename "$bin")
http=${CLUSTER_HTTP_PORT:-8801}
route=${CLUSTER_ROUTE_PORT:-6801}
dir=${CLUSTER_DIR:-data/cluster-$name}
peers="127.0.0.1:$route,127.0.0.1:$((route + 1)),127.0.0.1:$((route + 2))"

pids=()
stop() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

for i in 1 2 3; do
	n=$dir/n$i
	mkdir -p "$n"
	args=(-addr "127.0.0.1:$((http + i - 1))" -data "$n/data" -node "n$i" -cluster-peers "$peers"
		-cluster-listen "127.0.0.1:$((route + i - 1))" -cluster-dir "$n/nats" "$@")
	"$bin" "${args[@]}" >>"$n/log" 2>&1 &
	pids+=($!)
	echo "node n$i  pid $!  http://127.0.0.1:$((http + i - 1))/  NATS route 127.0.0.1:$((route + i - 1))"
	echo "         data $n/data  NATS store $n/nats  log $n/log"
	echo "         restart: $bin ${args[*]}"
done

echo "waiting for the three nodes to form the cluster..."
for i in 1 2 3; do
	url=http://127.0.0.1:$((http + i - 1))/healthz
	for _ in $(seq 1 600); do
		curl -fs -o /dev/null --max-time 1 "$url" && break
		kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { echo "node n$i exited; its log:"; tail -20 "$dir/n$i/log"; exit 1; }
		sleep 0.2
	done
	curl -fs -o /dev/null --max-time 1 "$url" || { echo "node n$i not healthy after 2 minutes; see $dir/n$i/log"; exit 1; }
done
cat <<MSG

cluster up. Open http://127.0.0.1:$http/ and the same path on http://127.0.0.1:$((http + 2))/
(the chat's room is in the path), kill one node (kill -9 with a pid above: if it owned the
room, the room moves to another node within the lease, 5 s, and the pages reconnect) and keep
going. Ctrl-C stops all nodes.
MSG
wait
