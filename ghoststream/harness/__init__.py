"""Support shared by tests, benchmarks and load tests: real servers and the timing client."""
