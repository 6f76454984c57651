"""A minimal stand-in for the Hugging Face Hub's HTTP API on 127.0.0.1, enough for ``snapshot_download``: repo
info by revision (``/api/{type}s/{id}/revision/{rev}``), the recursive tree listing, and file ``resolve`` with the
``X-Repo-Commit`` / ``ETag`` headers the client keys its cache on. Any other route answers 404."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


def serve(repos: dict[tuple[str, str], tuple[str, dict[str, bytes]]]):
    """``repos``: {(repo_type, repo_id): (commit sha, {path: content})}. Returns (server, base URL)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _repo(self, kind: str, org: str, name: str):
            return repos.get((kind.removesuffix("s"), f"{org}/{name}"))

        def _resolve(self, head: bool):  # /{type}s/ORG/NAME/resolve/REV/PATH
            parts = urlparse(self.path).path.strip("/").split("/")
            repo = self._repo(*parts[:3]) if len(parts) > 5 and parts[3] == "resolve" else None
            data = repo[1].get("/".join(parts[5:])) if repo else None
            if data is None:
                return self._send(404, head=head)
            self._send(200, data, {"X-Repo-Commit": repo[0], "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}, head)

        def do_HEAD(self):
            self._resolve(head=True)

        def do_GET(self):
            parts = urlparse(self.path).path.strip("/").split("/")
            if parts[0] != "api":
                return self._resolve(head=False)
            repo = self._repo(*parts[1:4]) if len(parts) >= 6 else None
            if repo is None or parts[4] not in ("revision", "tree"):
                return self._send(404)
            sha, files = repo
            if parts[4] == "revision":
                body = {"id": f"{parts[2]}/{parts[3]}", "sha": sha, "siblings": [{"rfilename": p} for p in files]}
            else:
                body = [
                    {"type": "file", "path": p, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                    for p, d in files.items()
                ]
            self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
