"""The Insights view in headless Chromium: a supervisor sees outcomes, the impact matrix
and SLO state, drills down to a conversation and judges it; an agent sees no Insights.

The records are the hand-computed set of ``tests/outcomes/dataset.py`` moved to the
last few days, plus twelve abandoned REST contacts of the last hours, which breach the
REST resolution objective. Screenshots: ``test-artifacts/screenshots/insights-*.png``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.tables import contact_outcomes
from tests.desk.conftest import PASSWORD, Desk
from tests.desk.test_desk_api import packet
from tests.outcomes import dataset
from tests.support.browser import browser, save_screenshot  # noqa: F401

WAIT = 20.0


@pytest.fixture(scope="module")
def records(lone_desk: Desk) -> str:
    """Loads the records; returns the queue entry contact 5 (resolved by a person) has."""
    store = SqlOutcomeStore(lone_desk.database_url)
    dataset.load(store)
    now = time.time()
    shift = now - 2 * 3600 - (dataset.T0 + 9 * 12 * dataset.HOUR)
    table = contact_outcomes
    entry_id = lone_desk.queue.enqueue(packet(conversation_id="conversation-5"))
    lone_desk.queue.claim(entry_id, lone_desk.agents["ana"].name)
    lone_desk.queue.resolve(entry_id, lone_desk.agents["ana"].name, "information_given")
    with store.engine.begin() as connection:
        connection.execute(
            table.update().values(
                started_at=table.c.started_at + shift,
                escalated_at=table.c.escalated_at + shift,
                could_have_handled=sa.case(
                    (table.c.contact_id == "c05", None), else_=table.c.could_have_handled
                ),
            )
        )
        connection.execute(
            table.update().where(table.c.contact_id == "c05").values(handoff_entry_id=entry_id)
        )
        for number in range(12):
            connection.execute(
                table.insert().values(
                    dataset.row(
                        100 + number,
                        now - 3600 - number * 60,
                        contact_id=f"a{number:02d}",
                        interaction_type="cancel_order",
                        outcome="abandoned",
                        turns=2,
                    )
                )
            )
    return entry_id


def sign_in(driver: Any, url: str, name: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT)
    driver.get(f"{url}/")
    wait.until(ready.visibility_of_element_located((By.ID, "signin-name"))).send_keys(name)
    driver.find_element(By.ID, "signin-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "signin-submit").click()
    wait.until(ready.visibility_of_element_located((By.ID, "signout")))
    return wait


def test_a_supervisor_sees_the_impact_and_drills_down_to_a_conversation(
    lone_desk: Desk, records: str, browser: Any  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready

    wait = sign_in(browser, lone_desk.url, lone_desk.agents["ana"].name)
    wait.until(ready.element_to_be_clickable((By.ID, "nav-insights"))).click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "ins-status"), "contacts"))
    assert browser.find_element(By.CSS_SELECTOR, "main.layout").is_displayed() is False

    # Outcomes: 23 counted (11 of the set, 12 abandoned), bars per day.
    first = browser.find_element(By.CSS_SELECTOR, "#ins-headline .kpi-value").text
    assert first == "23"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ins-outcomes-chart rect")) >= 6
    outcomes = browser.find_element(By.ID, "ins-outcomes").text
    assert "Abandoned 13" in outcomes and "Resolved by a person 1" in outcomes
    # The impact matrix: a dot and a row per interaction type, with a recommendation.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#ins-matrix-chart circle")) == 4
    matrix = browser.find_element(By.ID, "ins-matrix").text
    assert "check order status" in matrix and "cancel order" in matrix
    assert any(word in matrix for word in ("automate", "assist", "keep human"))
    # SLO state: REST's resolution rate is breached, with its numbers and interval.
    breached = browser.find_elements(By.CSS_SELECTOR, "#ins-slo tr.slo-breached")
    assert breached, browser.find_element(By.ID, "ins-slo").text
    assert "resolution rate" in breached[0].text and "channel=rest" in breached[0].text
    assert "%–" in breached[0].text  # the interval
    assert "customer request" in browser.find_element(By.ID, "ins-reasons").text
    save_screenshot(browser, "insights-overview")
    browser.execute_script("document.getElementById('ins-matrix-chart').scrollIntoView()")
    save_screenshot(browser, "insights-impact-matrix")

    # Drill down: the one contact resolved by a person, then its conversation.
    browser.find_element(
        By.CSS_SELECTOR, "#ins-outcomes a.drill[data-drill*=resolved_by_person]"
    ).click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "ins-drill-title"), "(1)"))
    browser.find_element(By.CSS_SELECTOR, "#ins-drill-list a[data-contact=c05]").click()
    wait.until(
        ready.text_to_be_present_in_element((By.ID, "ins-contact-facts"), "resolved by person")
    )
    assert "customer request" in browser.find_element(By.ID, "ins-contact-facts").text
    save_screenshot(browser, "insights-drilldown")
    wait.until(ready.element_to_be_clickable((By.ID, "ins-open-entry"))).click()
    wait.until(ready.visibility_of_element_located((By.ID, "entry")))
    wait.until(ready.text_to_be_present_in_element((By.ID, "entry-status"), "Resolved"))
    # The person's verdict on the escalation, which feeds the metric.
    wait.until(ready.element_to_be_clickable((By.ID, "verdict-yes"))).click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "verdict-state"), "could have handled"))
    save_screenshot(browser, "insights-conversation-verdict")
    stored = SqlOutcomeStore(lone_desk.database_url).get("c05")
    assert stored is not None and stored.could_have_handled is True


def test_an_agent_does_not_see_insights(
    lone_desk: Desk, records: str, browser: Any  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, lone_desk.url, lone_desk.agents["ben"].name)
    assert browser.find_element(By.ID, "nav-insights").is_displayed() is False
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{lone_desk.url}/#insights")
    WebDriverWait(browser, WAIT).until(ready.visibility_of_element_located((By.ID, "signout")))
    assert browser.find_element(By.ID, "insights").is_displayed() is False
    save_screenshot(browser, "insights-agent-has-none")
