from app.auth.ratelimit import SlidingWindowLimiter


def test_allows_limit_hits_per_window_then_says_when_to_retry() -> None:
    limiter = SlidingWindowLimiter(limit=3, window_seconds=60)

    allowed = [limiter.hit("a", now=t) for t in (0.0, 10.0, 20.0)]
    blocked = limiter.hit("a", now=30.0)

    assert allowed == [None, None, None]
    assert blocked == 30


def test_window_slides() -> None:
    limiter = SlidingWindowLimiter(limit=1, window_seconds=60)
    limiter.hit("a", now=0.0)

    assert limiter.hit("a", now=59.0) == 1
    assert limiter.hit("a", now=60.0) is None


def test_keys_are_counted_separately() -> None:
    limiter = SlidingWindowLimiter(limit=1, window_seconds=60)

    assert limiter.hit("a", now=0.0) is None
    assert limiter.hit("b", now=0.0) is None
    assert limiter.hit("a", now=1.0) is not None


def test_idle_keys_are_forgotten_when_many_are_tracked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import app.auth.ratelimit as module

    monkeypatch.setattr(module, "MAX_TRACKED_KEYS", 10)
    limiter = SlidingWindowLimiter(limit=1, window_seconds=60)
    for i in range(10):
        limiter.hit(f"k{i}", now=0.0)

    limiter.hit("late", now=120.0)

    assert len(limiter._hits) == 1
