"""Hand-made delivery scenarios for the end-to-end tests.

Each scenario module exposes ``stages(landing: Path) -> Iterator[date]``: it writes
delivery folders into ``landing`` and yields an as-of date whenever the landing is ready
to be refreshed and compared with the reference; it may rewrite folders between stages.
"""
