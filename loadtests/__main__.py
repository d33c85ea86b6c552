"""`python -m loadtests` (`make load`): the mock, the service and a headless Locust run."""

from __future__ import annotations

from loadtests.run import main

if __name__ == "__main__":
    raise SystemExit(main())
