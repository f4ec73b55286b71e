#!/bin/bash
# The service's process runs and it answers its health check within 10 seconds.
pid=$(cat /opt/inventory/run/inventory.pid)
for _ in $(seq 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "inventory (pid $pid) is not running; its log:" >&2
    tail -n 20 /opt/inventory/run/inventory.log >&2
    exit 1
  fi
  if health=$(curl -fsS --unix-socket /opt/inventory/run/inventory.sock http://localhost/health 2>/dev/null); then
    echo "health: $health"
    exit 0
  fi
  sleep 0.1
done
echo "inventory did not answer on /opt/inventory/run/inventory.sock" >&2
exit 1
