#!/bin/bash
# The service answers its health check within 10 seconds, or the deployment fails.
for _ in $(seq 100); do
  if health=$(curl -fsS --unix-socket /srv/notes/run/notes.sock http://localhost/health 2>/dev/null); then
    echo "health: $health"
    exit 0
  fi
  sleep 0.1
done
echo "notes did not answer on /srv/notes/run/notes.sock; its log:" >&2
tail -n 20 /srv/notes/run/notes.log >&2
exit 1
