"""Password reset and account changes against the real sandbox; value checks without it."""

from __future__ import annotations

import pytest
import requests

from frontline.connectors import CrmClient
from frontline.services.account_changes import (
    EMAIL,
    PHONE,
    SHIPPING_ADDRESS,
    ChangeOutcome,
    apply_change,
    change_prompt,
    mask_address,
    normalize_address,
    normalize_new_value,
)
from frontline.services.password_reset import ResetOutcome, email_on_file, send_reset_link
from tests.support.consent import consented


@pytest.fixture
async def crm(sandbox):
    client = CrmClient(sandbox.url, 2.0)
    yield client
    await client.close()


def customer(sandbox, customer_id: str) -> dict:
    return requests.get(f"{sandbox.url}/crm/customers/{customer_id}", timeout=10).json()


@pytest.mark.parametrize(
    "account_field, typed, value",
    [
        (EMAIL, "it's New.Mail@Example.com thanks", "new.mail@example.com"),
        (EMAIL, "new mail at example dot com", None),
        (PHONE, "+1 415 555 0199", "+1 415 555 0199"),
        (PHONE, "call me on (415) 555-0199 please", "+1 415 555 0199"),
        (PHONE, "+44 20 7946 0958", "+442079460958"),
        (PHONE, "555", None),
        (SHIPPING_ADDRESS, "12 Elm St, Brooklyn, NY 11201", "12 Elm St, Brooklyn, NY 11201"),
        (
            SHIPPING_ADDRESS,
            "my new address is 221B Baker Street, Springfield IL 62704",
            "221B Baker Street, Springfield IL 62704",
        ),
        (SHIPPING_ADDRESS, "Elm Street, Brooklyn", None),  # no number, no ZIP code
        (SHIPPING_ADDRESS, "12 Elm St Brooklyn", None),  # no ZIP code
    ],
)
def test_new_values_are_read_by_kind(account_field, typed, value):
    assert normalize_new_value(account_field, typed) == value


def test_addresses_are_shown_without_the_street():
    assert mask_address("500 Howard St, Apt 4B, San Francisco, CA 94107") == (
        "*** San Francisco, CA 94107"
    )
    assert mask_address("1 Main St 94107") == "*** 94107"
    assert (
        normalize_address("  12   Elm St,  Brooklyn,  NY 11201. ")
        == "12 Elm St, Brooklyn, NY 11201"
    )


@pytest.mark.parametrize(
    "typed, address",
    [
        ("it's 12 Oak Street, Springfield IL 62704", "12 Oak Street, Springfield IL 62704"),
        ("It\u2019s 12 Oak Street, Springfield IL 62704", "12 Oak Street, Springfield IL 62704"),
        ("it is 12 Oak Street, Springfield IL 62704", "12 Oak Street, Springfield IL 62704"),
        ("ok its 9 Elm Road, Austin TX 78701", "9 Elm Road, Austin TX 78701"),
        ("okay, 9 Elm Road, Austin TX 78701", "9 Elm Road, Austin TX 78701"),
        ("yes 9 Elm Road, Austin TX 78701", "9 Elm Road, Austin TX 78701"),
        ("please use 61 Pine Ave, Denver CO 80203", "61 Pine Ave, Denver CO 80203"),
        ("sure, 14 Harbor Lane, Portland ME 04101", "14 Harbor Lane, Portland ME 04101"),
        ("send it to 5 Main St, Boston MA 02108", "5 Main St, Boston MA 02108"),
        (
            "ship to 77 Lake Dr Apt 3, Chicago IL 60601-1234",
            "77 Lake Dr Apt 3, Chicago IL 60601-1234",
        ),
        (
            "the address is 500 Howard St, Apt 4B, San Francisco, CA 94107",
            "500 Howard St, Apt 4B, San Francisco, CA 94107",
        ),
        ("my new address is: 12 Elm St, Brooklyn, NY 11201.", "12 Elm St, Brooklyn, NY 11201"),
        ("hello, my place is 12 Oak St, Tampa FL 33602", "12 Oak St, Tampa FL 33602"),
        ("12 Oak Street, Springfield IL 62704 please", "12 Oak Street, Springfield IL 62704"),
        ("12 Oak Street, Springfield IL 62704, thanks!", "12 Oak Street, Springfield IL 62704"),
        ("12 Oak Street, Springfield IL 62704 thank you", "12 Oak Street, Springfield IL 62704"),
        ("12 Oak Street, Springfield IL 62704 ty", "12 Oak Street, Springfield IL 62704"),
        ("Okay so it's 3 Birch Ct, Reno NV 89501 thanks so much", "3 Birch Ct, Reno NV 89501"),
        ("It is 12-14 Oak St, Springfield IL 62704", "12-14 Oak St, Springfield IL 62704"),
        ("PO Box 123, Austin TX 78701", "PO Box 123, Austin TX 78701"),
        (
            "Apt 4B, 500 Howard St, San Francisco, CA 94107",
            "Apt 4B, 500 Howard St, San Francisco, CA 94107",
        ),
        # not addresses
        ("thanks", None),
        ("yes please", None),
        ("please use my old address", None),
        ("it is 94107", None),
        ("sure, 94107 please", None),
        ("ship to 94107-1234", None),
        ("ok 12345", None),
        ("my order 12345 thanks", None),
        ("order 482913 zip 94107", None),
        ("its $59.90 94107", None),
        ("it's 12 Oak Street, Springfield IL", None),  # no ZIP code
        ("it is 12 Oak Street, Springfield IL 6270", None),  # a 4-digit ZIP code
        ("please use 61 Pine Ave, Denver CO 802034", None),  # a 6-digit ZIP code
        ("sure, Harbor Lane, Portland ME 04101", None),  # no house number
    ],
)
def test_addresses_are_found_in_what_customers_type(typed, address):
    assert normalize_address(typed) == address
    assert normalize_new_value(SHIPPING_ADDRESS, typed) == address


async def test_the_prompt_masks_the_current_value_and_shows_the_new_one(crm):
    email = await change_prompt(crm, "C1001", EMAIL, "jane@example.org")
    assert email == {
        "field_label": "e-mail address",
        "current": "j***@example.com",
        "new_value": "jane@example.org",
    }
    phone = await change_prompt(crm, "C1001", PHONE, "+1 415 555 0199")
    assert phone["current"] == "***-***-**34"
    address = await change_prompt(crm, "C1001", SHIPPING_ADDRESS, "1 Main St, Austin, TX 73301")
    assert address["current"] == "*** San Francisco, CA 94107"


async def test_an_account_change_needs_a_yes_and_happens_once(crm, sandbox):
    before = customer(sandbox, "C1060")

    async def change(confirmed: bool, key: str, value: str = "+1 512 555 0199"):
        return await apply_change(
            crm,
            customer_id="C1060",
            account_field=PHONE,
            new_value=value,
            confirmed=confirmed,
            idempotency_key=key,
            context=consented(key, "utter_ask_account_change_confirmed", new_value=value),
        )

    kept = await change(False, "svc-phone-1")
    assert kept.outcome is ChangeOutcome.KEPT and kept.response == "utter_account_change_kept"
    assert customer(sandbox, "C1060") == before

    changed = await change(True, "svc-phone-1")
    assert changed.outcome is ChangeOutcome.CHANGED
    assert changed.response == "utter_account_changed_phone"
    assert customer(sandbox, "C1060") == before | {"phone": "+1 512 555 0199"}
    again = await change(True, "svc-phone-1")  # a redelivered "yes" replays the first answer
    assert again.outcome is ChangeOutcome.CHANGED
    same = await change(True, "svc-phone-2")  # the same value, asked again
    assert same.outcome is ChangeOutcome.UNCHANGED


async def test_an_email_of_another_account_is_refused(crm, sandbox):
    result = await apply_change(
        crm,
        customer_id="C1060",
        account_field=EMAIL,
        new_value="jane.doe@example.com",
        confirmed=True,
        idempotency_key="svc-email-taken",
        context=consented(
            "svc-email-taken",
            "utter_ask_account_change_confirmed",
            new_value="jane.doe@example.com",
        ),
    )
    assert result.outcome is ChangeOutcome.EMAIL_TAKEN
    assert customer(sandbox, "C1060")["email"] == "samuel.martin@example.org"


async def test_password_reset_goes_to_the_address_on_file_after_a_yes(crm, sandbox):
    def resets() -> list:
        url = f"{sandbox.url}/crm/customers/C1026/password-resets"
        return requests.get(url, timeout=10).json()["password_resets"]

    assert await email_on_file(crm, "C1026") == "a***@example.net"
    yes = consented("r1", "utter_ask_reset_confirmed", slots={"customer_id": "C1026"})
    kept = await send_reset_link(
        crm, customer_id="C1026", confirmed=False, idempotency_key="r1", context=yes
    )
    assert kept.outcome is ResetOutcome.KEPT and resets() == []

    sent = await send_reset_link(
        crm, customer_id="C1026", confirmed=True, idempotency_key="r1", context=yes
    )
    assert sent.outcome is ResetOutcome.SENT
    assert sent.variables == {"email": "a***@example.net", "minutes": "60"}
    await send_reset_link(
        crm, customer_id="C1026", confirmed=True, idempotency_key="r1", context=yes
    )
    [reset] = resets()
    assert reset["sent_to"] == "aisha.dubois@example.net" and reset["requested_via"] == "assistant"


async def test_password_reset_with_the_crm_down(crm, sandbox_faults):
    sandbox_faults(error_status=503, error_rate=1.0, path_prefix="/crm")
    assert await email_on_file(crm, "C1001") is None
    yes = consented("d", "utter_ask_reset_confirmed", slots={"customer_id": "C1001"})
    result = await send_reset_link(
        crm, customer_id="C1001", confirmed=True, idempotency_key="d", context=yes
    )
    assert result.outcome is ResetOutcome.UNAVAILABLE and result.response == "utter_backend_error"
