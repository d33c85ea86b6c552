"""Test, benchmark and load-test support shared by the whole project: real servers, timing client."""
