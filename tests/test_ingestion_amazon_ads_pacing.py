"""The Amazon Ads pacers (ingestion.http.pacing.RetryAfterPacer, as the amazon_ads source builds them) against the
sandbox's token bucket on a simulated clock: Amazon announces no limits and answers an empty bucket with a 429 and
Retry-After only, so a pacer configured far faster than the vendor's tier (the demo rates) must learn the tier from
its first 429 and stay under it from then on, without being slowed by a 429 its own pace does not explain (an
injected, transient throttle)."""

from __future__ import annotations

import math
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ingestion.http import pacing
from ingestion.http.pacing import Pacer, RetryAfterPacer
from ingestion.pipelines import load
from ingestion.sources.amazon_ads import amazon_ads_source, report_pacer, windows
from sandbox import amazon_ads_api
from sandbox.connect import sandbox_env
from sandbox.marketing_world import AMAZON_PROFILES
from sandbox.ratelimit import TokenBucket
from sandbox.server import SandboxServer
from sandbox.world import build_world
from tests.conftest import TEST_WORLD
from tests.helpers import environment, query

CREATE = amazon_ads_api.LIMITS["amazon_ads.createReport"]
GET = amazon_ads_api.LIMITS["amazon_ads.getReport"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(pacing, "time", types.SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    yield fake


def run(
    pacer: Pacer,
    server: TokenBucket,
    clock: Clock,
    n: int,
    spurious: Callable[[int], bool] = lambda i: False,
    latency_s: float = 0.002,
) -> list[bool]:
    """``n`` requests as the session sends them: wait for the pacer, send, observe the answer; a 429 (the server's
    Retry-After, rounded up to whole seconds as Amazon and the sandbox send it) is waited out and the request sent
    again. ``spurious(i)``: the i-th attempt gets an injected 429 (``Retry-After: 1``) whatever the bucket holds.
    Returns, per attempt, whether it was throttled."""
    attempts: list[bool] = []
    done = 0
    while done < n:
        pacer.wait()
        clock.sleep(latency_s)
        i = len(attempts)
        if spurious(i):
            retry = 1.0
        else:
            allowed, wait_s = server.take()
            retry = 0.0 if allowed else float(max(1, math.ceil(wait_s)))
        if retry:
            pacer.observe({"Retry-After": str(int(retry))})
            pacer.throttled()
            attempts.append(True)
            clock.sleep(retry)
        else:
            pacer.observe({"Content-Type": "application/json"})
            attempts.append(False)
            done += 1
    return attempts


@pytest.mark.parametrize(("bucket", "demo_rate"), [(CREATE, 50.0), (GET, 250.0)], ids=["createReport", "getReport"])
def test_after_the_first_429_the_pacer_stays_under_the_real_tier(clock: Clock, bucket: dict, demo_rate: float) -> None:
    burst, rate = bucket["real"]
    n = 60

    old = run(Pacer(burst, demo_rate, eager=True), TokenBucket(burst, rate, clock=clock.monotonic), clock, n)
    assert sum(old) > n / 3  # the bug: a plain pacer forgets each 429 and spends its burst again

    started = clock.now
    pacer = report_pacer((burst, demo_rate))
    new = run(pacer, TokenBucket(burst, rate, clock=clock.monotonic), clock, n)
    assert sum(new) == 1 and new.index(True) == burst  # the burst, then one 429 teaches the tier
    assert pacer.refill_per_s == pytest.approx(rate)
    # and the tier is used: the requests take the bucket's minimum, plus the reserve token and the one Retry-After
    minimum = (n - burst) / rate
    assert minimum <= clock.now - started <= minimum + 3 / rate


def test_a_pacer_at_the_real_tier_never_gets_a_429(clock: Clock) -> None:
    burst, rate = CREATE["real"]
    attempts = run(report_pacer((burst, rate)), TokenBucket(burst, rate, clock=clock.monotonic), clock, 40)
    assert not any(attempts)


def test_a_429_its_own_pace_does_not_explain_does_not_slow_the_pacer(clock: Clock) -> None:
    """Injected 429s (Retry-After 1) early, before the burst is spent, and late, after the pacer has been served far
    faster than 1/s: the demo tier is kept."""
    burst, rate = CREATE["demo"]
    pacer = report_pacer((CREATE["real"][0], rate))
    started = clock.now
    attempts = run(
        pacer, TokenBucket(burst, rate, clock=clock.monotonic), clock, 600, spurious=lambda i: i in (2, 300, 301, 450)
    )
    assert sum(attempts) == 4
    assert pacer.learned is None and pacer.refill_per_s == rate
    assert clock.now - started < 600 / rate + 4 * 1.0 + 2.0  # the demo rate and the four Retry-After waits


def test_a_bucket_drained_by_another_client_is_learned_at_the_second_429(clock: Clock) -> None:
    """The first 429 comes before this pacer spent its burst (another run used the bucket): not explained; the next
    one, right after the Retry-After, is."""
    burst, rate = CREATE["real"]
    server = TokenBucket(burst, rate, clock=clock.monotonic)
    for _ in range(int(burst)):
        server.take()
    pacer = report_pacer((burst, 50.0))
    attempts = run(pacer, server, clock, 30)
    assert sum(attempts) == 2 and pacer.refill_per_s == pytest.approx(rate)
    assert isinstance(pacer, RetryAfterPacer)


@pytest.mark.slow
def test_a_load_at_real_limits_gets_one_429_per_bucket_and_keeps_to_the_tiers(tmp_path: Path) -> None:
    """The source at the sandbox's real limits with the demo rates configured (as ``sandbox_env`` sets them): one
    429 teaches each reporting bucket its tier, none follows, the buckets are used at their tiers, and the rows are
    the truth's."""
    from bench.recording import RecordingApp

    profile = AMAZON_PROFILES[0].account_id
    end = TEST_WORLD.as_of
    start = end - timedelta(days=8 * 31 - 1)
    reports = len(windows(start, end))
    assert reports == 8
    app = RecordingApp(TEST_WORLD, rate_limits="real")
    with SandboxServer(app, port=0) as running, environment(sandbox_env(running.url)):
        source = amazon_ads_source(profile_ids=[profile], start_date=start.isoformat(), end_date=end.isoformat())
        started = time.monotonic()
        result = load("amazon_ads", duckdb_path=tmp_path / "real.duckdb", source=source)
        took = time.monotonic() - started
    assert result.quarantined == 0
    throttled = Counter(s.bucket for s in app.seen if s.throttled)
    assert throttled == {"amazon_ads.createReport": 1, "amazon_ads.getReport": 1}, throttled
    created = [s.arrived for s in app.seen if s.bucket == "amazon_ads.createReport" and not s.throttled]
    polls = [s.arrived for s in app.seen if s.bucket == "amazon_ads.getReport" and not s.throttled]
    assert len(created) == reports
    # creates at the tier: the burst, then one per 1/rate (after the Retry-After and the reserve token)
    burst, rate = CREATE["real"]
    assert (reports - burst) / rate <= created[-1] - created[0] <= (reports - burst + 1) / rate + 1.0
    # eight reports from a standing start are poll-bound: the polls at their tier once the first create's
    # Retry-After and reserve are waited out (the one wait that holds the polls back), the load's own work on top
    poll_burst, poll_rate = GET["real"]
    assert took <= 2 / rate + (len(polls) - poll_burst + 2) / poll_rate + 5.0
    days = query(tmp_path / "real.duckdb", "select count(*), min(date), max(date) from raw_amazon_ads.sp_campaign_days")
    expected = [
        ad
        for ad in build_world(TEST_WORLD).marketing.ad_days
        if ad.campaign.platform == "amazon_ads" and ad.campaign.account.account_id == profile and start <= ad.day <= end
    ]
    assert days == [(len(expected), min(a.day for a in expected), max(a.day for a in expected))]
