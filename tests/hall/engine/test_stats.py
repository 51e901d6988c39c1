"""The retained `stats` payload: served, mean service time (held time excluded), ratings per level
and the good-rating share, per window, clerk and service."""

from __future__ import annotations

from pathlib import Path

from hall.engine.engine import Engine
from hall.engine.model import CallNext, Finish, Hold, IssueTicket, Login, Rate, Start, Unhold
from hall.engine.stats import stats
from tests.fixtures.halls import MORNING, later, small_hall


def issue(engine: Engine, minutes: float = 0) -> str:
    ticket_id: str = engine.handle(IssueTicket("k1", "psb-id-card"), later(minutes)).result[
        "ticket"
    ]["id"]
    return ticket_id


def test_stats_count_service_time_without_held_time_and_the_good_share() -> None:
    engine = Engine(small_hall())
    engine.handle(Login("w02", "c0201"), MORNING)
    first, second, third = issue(engine), issue(engine), issue(engine)
    # first: called at 1, started at 2, finished at 6: 4 minutes.
    engine.handle(CallNext("w02"), later(1))
    engine.handle(Start("w02"), later(2))
    engine.handle(Finish("w02"), later(6))
    engine.handle(Rate("e02", first, 5), later(6, 30))
    # second: called at 7, held at 8 for 10 minutes, called back at 18, finished at 20: 2 minutes.
    engine.handle(CallNext("w02"), later(7))
    engine.handle(Hold("w02"), later(8))
    engine.handle(CallNext("w02"), later(8, 10))  # third is called while second is held
    engine.handle(Finish("w02"), later(10, 10))  # third: 2 minutes from its call
    engine.handle(Rate("e02", third, 2), later(10, 30))
    engine.handle(Unhold("w02", second), later(18))
    engine.handle(Finish("w02"), later(20))
    engine.handle(Rate("e02", second, 3), later(20, 30))

    payload = stats(engine, later(21))
    w02 = payload["windows"]["w02"]
    assert w02["served"] == 3
    assert w02["mean_service_s"] == round((4 * 60 + 2 * 60 + 2 * 60) / 3)
    assert w02["ratings"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1}
    assert w02["rated"] == 3 and w02["good_share"] == round(2 / 3, 4)
    assert w02["clerks"] == ["c0201"]
    assert payload["clerks"]["c0201"]["served"] == 3
    assert payload["services"]["psb-id-card"]["served"] == 3
    assert payload["windows"]["w01"] == {
        "served": 0, "mean_service_s": None, "ratings": {str(s): 0 for s in range(1, 6)},
        "rated": 0, "good_share": None, "clerks": [],
    }  # fmt: skip
    assert payload["levels"]["3"] == "基本满意" and payload["v"] == 1
    assert payload["business_day"] == "2026-11-26"


def test_the_acl_lets_the_hall_write_stats_and_screens_windows_operators_read_it() -> None:
    from contract import topics
    from hall.tools.broker_config import Grant, grants_for, hall_grants

    config = small_hall()
    site = config.site.id
    assert Grant("write", topics.stats(site)) in hall_grants(site)
    for device in ("d1", "w01", "op1"):  # a display, a window terminal, an operator
        assert Grant("read", topics.stats(site)) in grants_for(config, device)
    assert Grant("read", topics.device_settings(site, "d1")) in grants_for(config, "d1")
    for device in ("k1", "e01"):  # kiosks and evaluators do not need it
        assert Grant("read", topics.stats(site)) not in grants_for(config, device)


def test_the_service_publishes_stats_retained_at_start(tmp_path: Path) -> None:
    from contract import topics
    from hall.store.clock import FixedClock
    from tests.fixtures.hall_server import wait_for
    from tests.hall.service.loopback_hall import LoopbackHall

    hall = LoopbackHall(small_hall(), tmp_path / "data", FixedClock(MORNING), queues_interval=0.3)
    try:
        assert hall.service.wait_idle()
        topic = topics.stats(hall.site)
        assert wait_for(lambda: topic in hall.broker.retained)
        payload = hall.retained(topic)
        assert payload["v"] == 1 and set(payload["windows"]) == {"w01", "w02", "w03", "w04", "w05"}
        assert len(hall.published(topic)) == 1  # once at start; then with the clock, once a minute
    finally:
        hall.close()
