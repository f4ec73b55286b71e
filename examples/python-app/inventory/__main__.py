"""The inventory service: GET /health and GET /items as JSON, on a Unix socket.

python -m inventory [socket]   (default /opt/inventory/run/inventory.sock: a socket, so that
several hosts on one machine, a local fleet, never compete for a port)
"""
import json
import os
import signal
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

ITEMS = [{"sku": "A-100", "name": "widget", "stock": 12}, {"sku": "B-200", "name": "gadget", "stock": 3}]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            self.answer(200, {"status": "ok", "python": sys.version.split()[0]})
        elif self.path == "/items":
            self.answer(200, {"items": ITEMS})
        else:
            self.answer(404, {"error": "not found"})

    def answer(self, status, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self):
        return "unix"


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/opt/inventory/run/inventory.sock"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    with Server(path, Handler) as server:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(f"inventory listening on {path}", flush=True)
        server.serve_forever()


main()
