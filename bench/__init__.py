"""Benchmarks of langgraph-failover next to its peers, against the shipped emulators.

`python3 dev.py bench` installs the peers and runs `python -m bench`; see `__main__.py`.
"""
