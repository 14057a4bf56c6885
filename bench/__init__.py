"""The template's benchmark harness, run by `nox -s bench`.

It renders the default service and each available framework and logger variant, builds them with the
Dockerfile's own `go build` line, and measures them side by side: load through the full stack against a
bare net/http server, the generated project's Go benchmarks, start-to-ready time, binary and image size,
resident memory, `copier copy` and copy-to-passing-tests time, and a SIGTERM under load. `report`
writes the results to docs/performance.md and docs/performance.svg.
"""
