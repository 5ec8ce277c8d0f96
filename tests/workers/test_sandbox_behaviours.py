"""The worker's sandbox adapters from the settings: a carrier outage drill leaves payments be."""

import pytest
from pydantic import ValidationError

from oms.settings import Settings
from workers.worker import sandbox_behaviours


def test_the_carrier_shares_the_sandbox_behaviour_unless_told_otherwise() -> None:
    shared, carrier = sandbox_behaviours(Settings(OMS_SANDBOX_FAILURE_RATE=0.2))
    assert shared.failure_rate == 0.2
    assert carrier is None


def test_a_carrier_outage_fails_every_carrier_call_and_no_payment() -> None:
    settings = Settings(OMS_SANDBOX_FAILURE_RATE=0, OMS_SANDBOX_CARRIER_FAILURE_RATE=1)
    shared, carrier = sandbox_behaviours(settings)
    assert carrier is not None
    assert [carrier.fails() for _ in range(20)] == [True] * 20
    assert [shared.fails() for _ in range(20)] == [False] * 20
    assert carrier.latency_ms == shared.latency_ms == settings.sandbox_latency_ms


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_carrier_failure_rate_outside_0_to_1_is_refused(rate: float) -> None:
    with pytest.raises(ValidationError, match="OMS_SANDBOX_CARRIER_FAILURE_RATE"):
        Settings(OMS_SANDBOX_CARRIER_FAILURE_RATE=rate)
