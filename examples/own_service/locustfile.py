"""Load on the service with ghoststream's Locust users (`pip install ghoststream[load]`):

    locust -f locustfile.py --host http://127.0.0.1:8000 --format own-service \
        --headless -u 50 -r 10 -t 1m --records reports/own.jsonl

Each stream is reported as `TTFT`, `ITL` and `stream`, and as one raw line in `--records`; the
run ends with percentiles from the raw lines and exit status 3 if Locust itself was the limit.
"""

import own_service.wire  # noqa: F401  registers the "own-service" stream format
from locust import task

from ghoststream.load import StreamUser


class ChatUser(StreamUser):
    """One question after another on `POST /chat`, read in the format `--format` names."""

    scenario = "own_service"
    route = "/chat"

    def body(self, prompt: str) -> dict[str, str]:
        return {"q": prompt}

    @task
    def chat(self) -> None:
        self.ask()
