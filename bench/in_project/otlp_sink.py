"""A local OTLP/HTTP sink for `python -m bench.otel`: it accepts what the service's exporter posts
to /v1/traces and /v1/metrics, counts the spans, and discards them. Run by the rendered project's
interpreter (opentelemetry-proto comes with its exporter), in a process of its own so that its
CPU time is not the service's: `python otlp_sink.py PORT COUNT_FILE`.

On SIGTERM it writes {"exports": n, "spans": n} to COUNT_FILE and exits.
"""

import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

counts = {"exports": 0, "spans": 0}
lock = threading.Lock()


class Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            resources = request.resource_spans
            scopes = [scope for resource in resources for scope in resource.scope_spans]
            spans = sum(len(scope.spans) for scope in scopes)
            with lock:
                counts["exports"] += 1
                counts["spans"] += spans
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet."""


def main() -> None:
    port, count_file = int(sys.argv[1]), Path(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", port), Sink)

    def stop(*_: object) -> None:
        with lock:
            count_file.write_text(json.dumps(counts))
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
