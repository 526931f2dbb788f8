#!/usr/bin/env python3
"""Tiny loopback HTTP sink for LiteLLM callbacks (generic_api logger, webhook alerting).

Every POST/PUT is appended as one JSON line to $OUT (default ./callbacks.jsonl):
{"ts":..., "path": "/generic", "headers": {...}, "body": <parsed JSON or raw text>}
GET / returns the count of captured events.  Stdlib only.
Usage: webhook_listener.py [--port 4010] [--out FILE]
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=4010)
    ap.add_argument("--out", default="callbacks.jsonl")
    args = ap.parse_args()
    counter = {"n": 0}

    class H(BaseHTTPRequestHandler):
        def _capture(self) -> None:
            n = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            rec = {
                "ts": time.time(),
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items() if k.lower() != "authorization"},
                "body": body,
            }
            with LOCK:
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
                counter["n"] += 1
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok":true}')

        do_POST = _capture  # noqa: N815 - http.server's method names
        do_PUT = _capture  # noqa: N815

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"captured": counter["n"]}).encode())

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()


if __name__ == "__main__":
    main()
