"""The contact types of issue 17 end to end over the REST channel, checked against backend
state and the handoff packet: refund status, late delivery, invoice copy, payment
problems, protected details and privacy requests.

The action server judges dates as of the sandbox's date (``FRONTLINE_AS_OF``).
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.e2e


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


def get(stack, path: str) -> dict:
    response = requests.get(f"{stack.sandbox.url}{path}", timeout=10)
    response.raise_for_status()
    return response.json()


def only_handoff(stack, chat) -> dict:
    [entry] = stack.queue.find_by_conversation(chat.sender)
    return entry.packet


def test_an_overdue_refund_is_apologised_for_and_handed_off(stack):
    chat = stack.conversation()
    replies = joined(chat.say("where's my refund?? I returned the item 2 weeks ago"))
    assert "e-mail address" in replies
    chat.say("omar.haddad@example.com")
    replies = joined(chat.say("10001"))
    assert "already been returned" not in replies  # the failure issue 17 reports
    assert "Order 551202: $69.00 back to your Mastercard card ending 5454" in replies
    assert "issued Sun 20 Sep" in replies and "expected on your card by Sun 27 Sep" in replies
    assert "I'm sorry" in replies and "human colleague" in replies
    packet = only_handoff(stack, chat)
    assert packet["reason"]["code"] == "refund_overdue"
    assert "refund.overdue_after_days" in packet["reason"]["rationale"]
    [refund] = [
        r
        for r in get(stack, "/billing/customers/C1002/refunds")["refunds"]
        if r["order_id"] == "551202"
    ]
    assert refund["state"] == "issued"  # nothing changed by asking


def test_a_completed_refund_is_told_and_rated(stack):
    chat = stack.conversation()
    replies = joined(chat.say("has my refund been processed? jane.doe@example.com zip 94107"))
    assert "Order 482917: $199.00 back to your Visa card ending 4242" in replies
    assert "has been paid back" in replies and "How did I do?" in replies
    assert stack.queue.find_by_conversation(chat.sender) == []


def test_a_late_order_is_apologised_for_and_handed_off_with_late_delivery(stack):
    chat = stack.conversation()
    replies = joined(chat.say("my order 630002 never arrived, li.wei@example.net"))
    assert "promised by Fri 30 Oct" in replies and "late" in replies
    assert "human colleague" in replies
    packet = only_handoff(stack, chat)
    assert packet["reason"]["code"] == "late_delivery"
    assert "late_after_days" in packet["reason"]["rationale"]
    assert stack.order("630002")["state"] == "shipped"


def test_an_order_before_its_promise_is_not_late(stack):
    chat = stack.conversation()
    replies = joined(chat.say("order 482913 is late, jane.doe@example.com"))
    assert "We promised it by Tue 3 Nov, so it isn't late yet" in replies
    assert stack.queue.find_by_conversation(chat.sender) == []


def test_an_invoice_copy_goes_to_the_address_on_file(stack):
    before = get(stack, "/billing/customers/C1001/invoice-emails")["invoice_emails"]
    chat = stack.conversation()
    replies = joined(chat.say("send me my invoice please, jane.doe@example.com zip 94107"))
    sent = get(stack, "/billing/customers/C1001/invoice-emails")["invoice_emails"]
    assert len(sent) == len(before) + 1
    assert sent[0]["sent_to"] == "jane.doe@example.com"
    assert f"copy of invoice {sent[0]['invoice_id']}" in replies and "j***@example.com" in replies
    assert "jane.doe@example.com" not in replies


def test_a_declined_payment_says_what_to_do(stack):
    chat = stack.conversation()
    replies = joined(chat.say("my card was declined, li.wei@example.net zip 60614"))
    assert "declined by your bank: not enough funds were available" in replies
    assert "Nothing was taken from your American Express card ending 0005" in replies
    assert stack.order("630001")["state"] == "placed"


def test_a_pending_payment_says_not_to_pay_again(stack):
    chat = stack.conversation()
    replies = joined(chat.say("status of my last payment? jane.doe@example.com zip 94107"))
    assert "still pending" in replies and "don't pay again" in replies


def test_a_change_of_legal_name_is_explained_and_handed_off(stack):
    chat = stack.conversation()
    replies = joined(chat.say("I got married and need to change my surname on the account"))
    assert "can't change them here" in replies and "human colleague" in replies
    packet = only_handoff(stack, chat)
    assert packet["reason"]["code"] == "protected_change"
    assert "privacy_request" not in packet


def test_a_data_request_is_handed_off_marked_as_a_privacy_request(stack):
    chat = stack.conversation()
    replies = joined(chat.say("please delete my account and all the data you hold about me"))
    assert "privacy team" in replies and "Nothing has been deleted" in replies
    packet = only_handoff(stack, chat)
    assert packet["reason"]["code"] == "privacy_request"
    assert packet["privacy_request"] is True
