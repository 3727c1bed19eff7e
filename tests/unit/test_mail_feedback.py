import json

from chalicelib.notify.feedback import address_key, legacy_address_key, suppressions_in
from chalicelib.notify.ports import MailClaim
from chalicelib.notify.services import MailService
from tests.fakes import FakeMailer, FakeSuppressionList
from tests.unit.test_mail_rendering import message


def bounce(kind: str, *addresses: str) -> str:
    return json.dumps(
        {
            "eventType": "Bounce",
            "bounce": {"bounceType": kind, "bouncedRecipients": [{"emailAddress": a} for a in addresses]},
        }
    )


def test_a_permanent_bounce_suppresses_the_address_and_no_mail_goes_there_again():
    mailer, suppressions = FakeMailer(), FakeSuppressionList()
    service = MailService(mailer, suppressions, "termine@vaxslot.example", "https://vaxslot.example")
    assert service.record_feedback(bounce("Permanent", "Erna@Example.org")) == 1
    assert service.send(message()) is MailClaim.SUPPRESSED and mailer.sent == []


def test_a_transient_bounce_suppresses_nothing():
    assert suppressions_in(bounce("Transient", "erna@example.org")) == []


def test_a_complaint_suppresses_its_recipients():
    complaint = json.dumps(
        {"notificationType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "a@example.org"}]}}
    )
    assert [(s.address, s.reason) for s in suppressions_in(complaint)] == [("a@example.org", "complaint")]


def test_deliveries_and_garbage_are_ignored():
    assert suppressions_in(json.dumps({"eventType": "Delivery"})) == []
    assert suppressions_in("not json") == []


def test_the_stored_key_holds_no_address_and_ignores_case():
    assert address_key(" Erna@Example.org ", b"k") == address_key("erna@example.org", b"k")
    assert "erna" not in address_key("erna@example.org", b"k")


def test_the_stored_key_is_keyed_so_a_list_of_known_addresses_cannot_be_matched_without_the_secret():
    assert address_key("erna@example.org", b"one") != address_key("erna@example.org", b"two")
    assert address_key("erna@example.org", b"one") != legacy_address_key("erna@example.org")
