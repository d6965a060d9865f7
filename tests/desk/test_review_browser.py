"""The review loop in headless Chromium: an agent flags the assistant's answer in the
conversation view, then a reviewer works the inbox with the keyboard and the mouse.

Screenshots: ``test-artifacts/screenshots/review-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.review.store import create
from tests.desk.conftest import PASSWORD
from tests.desk.review_support import ReviewDesk, start_review_desk
from tests.review.scenario import RAW_EMAIL
from tests.support.browser import (
    browser,  # noqa: F401
    save_screenshot,
)

WAIT = 20.0


@pytest.fixture(scope="module")
def review_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewDesk]:
    yield from start_review_desk(tmp_path_factory.mktemp("review-browser"))


def sign_in(driver: Any, wait: Any, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready

    driver.get(f"{url}/")
    wait.until(ready.visibility_of_element_located((By.ID, "signin-name"))).send_keys(name)
    driver.find_element(By.ID, "signin-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "signin-submit").click()


def test_an_agent_flags_a_turn_and_a_reviewer_labels_in_the_browser(
    review_desk: ReviewDesk, browser: Any  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    run = review_desk

    # An agent opens the handed-off conversation and flags the assistant's answer.
    sign_in(browser, wait, run.desk.url, run.desk.agents["ben"].name)
    item = (By.CSS_SELECTOR, f'.queue-item[data-entry-id="{run.entry_id}"]')
    wait.until(ready.element_to_be_clickable(item)).click()
    flag_button = (By.CSS_SELECTOR, "#transcript .turn.assistant .flag-turn")
    wait.until(ready.element_to_be_clickable(flag_button)).click()
    form = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".flag-form")))
    Select(form.find_element(By.CSS_SELECTOR, ".flag-reason-select")).select_by_value(
        "wrong_answer"
    )
    form.find_element(By.CSS_SELECTOR, ".flag-note").send_keys("refund policy is wrong")
    save_screenshot(browser, "review-flag-form")
    form.find_element(By.CSS_SELECTOR, ".flag-send").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "transcript"), "Flagged for review"))
    save_screenshot(browser, "review-flagged-turn")
    browser.find_element(By.ID, "signout").click()
    wait.until(ready.visibility_of_element_located((By.ID, "signin-name")))

    # A reviewer signs in and lands in the inbox, highest impact first.
    sign_in(browser, wait, run.desk.url, run.reviewer_name)
    wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".review-group")))
    for link in ("nav-queue", "nav-insights", "nav-review"):  # nothing else to go to
        assert not browser.find_element(By.ID, link).is_displayed()
    intents = [
        g.get_attribute("data-intent")
        for g in browser.find_elements(By.CSS_SELECTOR, ".review-group")
    ]
    assert intents == ["faq", "request_return", "cancel_order", "check_order_status"]
    page = browser.find_element(By.ID, "review").text
    assert "flagged by an agent" in page and "Agent: Wrong answer" in page
    assert "j***@gmail.com" in page and RAW_EMAIL not in browser.page_source
    save_screenshot(browser, "review-inbox")

    # Keys: down to the order-status group (3 x j), confirm it (c).
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(3):
        body.send_keys("j")
    selected = browser.find_element(By.CSS_SELECTOR, ".review-group.selected")
    assert selected.get_attribute("data-intent") == "check_order_status"
    body.send_keys("c")
    wait.until(
        ready.text_to_be_present_in_element((By.ID, "review-notice"), "Confirmed: 2 messages.")
    )
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".review-group")) == 3)

    # Mouse: correct the fallback group to a FAQ answer, judge the poorly rated conversation.
    faq = browser.find_element(By.CSS_SELECTOR, '.review-group[data-intent="faq"]')
    Select(faq.find_element(By.CSS_SELECTOR, ".correct-intent")).select_by_value(
        "faq/payment_options"
    )
    faq.find_element(By.CSS_SELECTOR, "button.correct").click()
    wait.until(
        ready.text_to_be_present_in_element(
            (By.ID, "review-notice"), "Corrected to faq/payment options"
        )
    )
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".review-group")) == 2)
    cancel = (
        By.CSS_SELECTOR,
        '.review-group[data-intent="cancel_order"] button[data-verdict="could_have_handled"]',
    )
    wait.until(ready.element_to_be_clickable(cancel)).click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "review-notice"), "Noted"))
    done = (
        '.review-group[data-intent="cancel_order"] button.done[data-verdict="could_have_handled"]'
    )
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, done)))
    # The verdict made the cancellation escalation_flagged too: it now ranks first (4 + 4).
    intents = [
        g.get_attribute("data-intent")
        for g in browser.find_elements(By.CSS_SELECTOR, ".review-group")
    ]
    assert intents == ["cancel_order", "request_return"]
    # Keys again: to the flagged refund question (k, k, j) and out of scope (o).
    for key in "kkj":
        body.send_keys(key)
    selected = browser.find_element(By.CSS_SELECTOR, ".review-group.selected")
    assert selected.get_attribute("data-intent") == "request_return"
    body.send_keys("o")
    wait.until(ready.text_to_be_present_in_element((By.ID, "review-notice"), "Marked out of scope"))
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".review-group")) == 1)
    save_screenshot(browser, "review-after-labels")

    # A supervisor opens the inbox from the top bar: what is left to review.
    browser.find_element(By.ID, "signout").click()
    sign_in(browser, wait, run.desk.url, run.desk.agents["ana"].name)
    wait.until(ready.element_to_be_clickable((By.ID, "nav-review"))).click()
    wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".review-group")))
    assert not browser.find_element(By.ID, "queue-list").is_displayed()
    remaining = browser.find_elements(By.CSS_SELECTOR, ".review-group")
    assert [g.get_attribute("data-intent") for g in remaining] == ["cancel_order"]
    save_screenshot(browser, "review-supervisor")

    labels = create({"type": "sql", "url": run.desk.database_url}).labels()
    mine = [label for label in labels.values() if run.scenario.tag in label.conversation_id]
    assert sorted((label.decision, label.intent) for label in mine) == [
        ("confirm", "check_order_status"),
        ("confirm", "check_order_status"),
        ("correct", "faq/payment_options"),
        ("out_of_scope", "out_of_scope"),
    ]
    record = SqlOutcomeStore(run.desk.database_url).get(f"d{run.scenario.tag}")
    assert record is not None and record.could_have_handled is True
