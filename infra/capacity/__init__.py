"""The capacity and cost model of issue #12: which AWS limit binds at a launch, what to set, and the cost per 1 M
bookings. Pure arithmetic over dataclasses; `python -m infra.capacity` prints it, docs/capacity.md explains it."""
