"""A webhook endpoint in the test process: a local HTTP server in a thread that records what it
is sent and answers `status` with `reply` — by default `{"ok": true}` below 300 and
"upstream broken" otherwise (a redirect status also sends a Location header, to prove redirects
are not followed)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    def __init__(self, reply: bytes | None = None, status: int = 200, path: str = "/hook") -> None:
        self.received: list[bytes] = []  # the bodies, in order
        self.requests: list[dict] = []  # path, headers (case-insensitive) and body of each
        self.reply, self.status = reply, status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(body)
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                self.send_response(receiver.status)
                if receiver.status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                reply = receiver.reply
                if reply is None:
                    reply = b'{"ok": true}' if receiver.status < 300 else b"upstream broken"
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self) -> list[dict]:
        return [json.loads(body) for body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
