"""Per-site token buckets."""

from __future__ import annotations

from app.rum.ratelimit import SiteRateLimiter, TokenBucket


def test_bucket_allows_a_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=0.0)
    assert [bucket.take(now=0.0) for _ in range(3)] == [None, None, None]
    assert bucket.take(now=0.0) == 1


def test_bucket_refills_at_its_rate_up_to_the_burst() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=0.0)
    for _ in range(3):
        bucket.take(now=0.0)
    assert bucket.take(now=0.5) is None  # one token back after half a second
    assert bucket.take(now=0.5) == 1
    assert [bucket.take(now=100.0) for _ in range(4)] == [None, None, None, 1]


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    bucket = TokenBucket(rate=0.1, burst=1, now=0.0)
    bucket.take(now=0.0)
    assert bucket.take(now=1.0) == 9


def test_sites_have_separate_buckets() -> None:
    limiter = SiteRateLimiter(rate=1, burst=1)
    assert limiter.take(1, now=0.0) is None
    assert limiter.take(1, now=0.0) == 1
    assert limiter.take(2, now=0.0) is None
