from __future__ import annotations

from gridflow.api.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_next_request_learns_when_to_come_back():
    clock = Clock()
    limiter = RateLimiter(2.0, 3, clock=clock)
    assert [limiter.take("app") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("app") == 0.5
    clock.now = 0.5
    assert limiter.take("app") == 0.0


def test_each_key_has_its_own_bucket():
    limiter = RateLimiter(1.0, 1, clock=Clock())
    assert limiter.take("a") == 0.0 and limiter.take("b") == 0.0
    assert limiter.take("a") > 0


def test_the_buckets_stay_bounded():
    limiter = RateLimiter(1.0, 1, clock=Clock(), max_buckets=10)
    for i in range(100):
        limiter.take(f"addr-{i}")
    assert len(limiter._buckets) == 10
