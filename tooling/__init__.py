"""Code the template's test suite (tests/), its benchmark (bench/) and noxfile.py share.

It imports neither tests nor bench, and they do not import each other (only tests/test_bench.py
imports bench, whose logic it tests): what both need lives here.
"""
