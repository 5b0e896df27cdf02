"""The pure reconnect policy (rxunix.reconnect): schedules, defaults, cap, reset, config errors."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rxunix.errors import ConfigError
from rxunix.reconnect import RetryPolicy

SOURCE_DOC = {"retry": {"interval_ms": 100, "growth_rate": 2, "max_retries": 3}}


def fixed(**retry: object) -> RetryPolicy:
    policy = RetryPolicy.from_config({"retry": {"randomized": False, **retry}})
    assert policy is not None
    return policy


class EndpointRng(random.Random):
    """uniform() returns one end of the range: the extremes of jitter."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return b if self.high else a


def test_source_document_schedule_without_jitter() -> None:
    policy = fixed(interval_ms=100, growth_rate=2, max_retries=3)
    assert policy.next_wait() == 100
    assert policy.next_wait() == 200
    assert policy.next_wait() == 400
    assert policy.next_wait() is None  # give up: 3 retries used
    assert policy.exhausted and policy.retries == 3
    assert policy.next_wait() is None


def test_source_document_config_is_accepted_as_is_and_randomized_by_default() -> None:
    policy = RetryPolicy.from_config(SOURCE_DOC, rng=random.Random(7))
    assert policy is not None
    assert (policy.interval_ms, policy.growth_rate, policy.max_retries) == (100, 2, 3)
    assert policy.randomized is True and policy.max_interval_ms == 30000
    waits = list(policy)
    assert len(waits) == 3
    assert waits[0] == 100  # the first wait is interval_ms itself
    assert 100 <= waits[1] <= 200
    assert 200 <= waits[2] <= 400
    assert waits[1:] != [200, 400]  # really drawn


@pytest.mark.parametrize("high", [False, True])
def test_randomized_waits_lie_between_previous_and_next(high: bool) -> None:
    rng = EndpointRng(high)
    policy = RetryPolicy.from_config(SOURCE_DOC, rng=rng)
    assert policy is not None
    waits = list(policy)
    assert rng.calls == [(100, 200), (200, 400)]
    assert waits == ([100, 200, 400] if high else [100, 100, 200])


def test_defaults_growth_rate_unlimited_retries() -> None:
    policy = fixed(interval_ms=10)
    assert policy.growth_rate == 1.5 and policy.max_retries is None
    waits = list(itertools.islice(policy, 200))
    assert len(waits) == 200  # unlimited
    assert waits[:4] == [10, 15, 22.5, 33.75]
    assert waits[-1] == 30000  # default cap
    assert max(waits) == 30000


def test_cap_limits_waits_and_interval() -> None:
    policy = fixed(interval_ms=1000, growth_rate=10, max_interval_ms=25000, max_retries=5)
    assert list(policy) == [1000, 10000, 25000, 25000, 25000]
    assert list(fixed(interval_ms=5000, max_interval_ms=300, max_retries=2)) == [300, 300]
    # randomized at the cap: previous == next == cap
    jittered = RetryPolicy(interval_ms=1000, growth_rate=10, max_interval_ms=25000, max_retries=6,
                           rng=EndpointRng(False))
    assert list(jittered) == [1000, 1000, 10000, 25000, 25000, 25000]


def test_reset_after_successful_connect_starts_afresh() -> None:
    policy = fixed(interval_ms=100, growth_rate=2, max_retries=3)
    assert [policy.next_wait(), policy.next_wait()] == [100, 200]
    policy.reset()
    assert list(policy) == [100, 200, 400]
    policy.reset()
    assert policy.retries == 0 and not policy.exhausted
    assert list(policy) == [100, 200, 400]


def test_zero_retries_means_no_wait() -> None:
    assert list(fixed(interval_ms=100, max_retries=0)) == []


def test_no_reconnect() -> None:
    assert RetryPolicy.from_config(None) is None
    assert RetryPolicy.from_config("none") is None
    assert RetryPolicy.from_config({}) is None


@pytest.mark.parametrize(
    ("reconnect", "message"),
    [
        ({"retry": {"interval": 100}}, "unknown option 'interval'; allowed: interval_ms, growth_rate"),
        ({"retry": {}}, "option 'interval_ms' is required"),
        ({"retry": {"interval_ms": "100"}}, "option 'interval_ms' must be int or float"),
        ({"retry": {"interval_ms": True}}, "option 'interval_ms' must be int or float, got bool"),
        ({"retry": {"interval_ms": 0}}, "'interval_ms' must be a positive number"),
        ({"retry": {"interval_ms": 1, "growth_rate": 0.5}}, "'growth_rate' must be a number >= 1"),
        ({"retry": {"interval_ms": 1, "max_retries": -1}}, "'max_retries' must be an int >= 0"),
        ({"retry": {"interval_ms": 1, "max_retries": 2.5}}, "'max_retries' must be int"),
        ({"retry": {"interval_ms": 1, "randomized": "yes"}}, "'randomized' must be bool"),
        ({"retry": {"interval_ms": 1, "max_interval_ms": -5}}, "'max_interval_ms' must be a positive"),
        ({"retry": {"interval_ms": 1}, "backoff": {}}, "reconnect: unknown option 'backoff'; allowed: retry"),
        ({"retry": {"interval_ms": 1}, "none": {}}, "either 'retry' or 'none'"),
        ([100], "reconnect: must be None, 'none' or"),
        ("retry", "reconnect: must be None, 'none' or"),
    ],
)
def test_config_errors_name_the_key(reconnect: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RetryPolicy.from_config(reconnect)
    assert message in str(info.value)


@given(
    interval=st.floats(min_value=0.5, max_value=5000),
    growth=st.floats(min_value=1, max_value=8),
    cap=st.floats(min_value=1, max_value=60000),
    retries=st.integers(min_value=0, max_value=40),
    seed=st.integers(0, 2**32),
)
def test_randomized_schedule_properties(
    interval: float, growth: float, cap: float, retries: int, seed: int
) -> None:
    nominal = fixed(interval_ms=interval, growth_rate=growth, max_interval_ms=cap, max_retries=retries)
    jittered = RetryPolicy(interval, growth, retries, True, cap, rng=random.Random(seed))
    ns, js = list(nominal), list(jittered)
    assert len(ns) == len(js) == retries
    prev = None
    for n, j in zip(ns, js, strict=True):
        assert n <= cap
        if prev is None:
            assert j == n == min(interval, cap)
        else:
            assert prev <= n and prev <= j <= n
        prev = n
