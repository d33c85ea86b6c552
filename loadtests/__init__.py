"""Locust load tests for ghoststream: scenarios, raw per-stream records, capacity steps.

`python -m loadtests` (or `make load`) starts the mock and the service and runs a headless
Locust against them; `loadtests/locustfile.py` is the locustfile for running Locust yourself.
The users, their transport, the raw lines and the summary are the installed library's
(`ghoststream.load`); here are the scenarios. Only `locustfile`, `step_shape` and `traps` import
Locust (and with it gevent's monkey-patching); the rest are plain and tested in-process.
"""
