"""`make mail`: print the mails the local SES accepted (sender, recipient, subject), newest last."""

from __future__ import annotations

import email
import email.policy
import os
import sys

from infra.local.aws import sent_mail


def main() -> None:
    url = f"http://127.0.0.1:{os.environ.get('VAXSLOT_AWS_PORT', '4566')}"
    try:
        sent = sent_mail(url, timeout_s=5)
    except OSError:
        sys.exit(f"No local AWS at {url}: is `make run` running?")
    for raw in sent:
        mail = email.message_from_string(raw["raw_data"], policy=email.policy.default)
        print(f"To: {mail['To']}\nSubject: {mail['Subject']}")
        body = mail.get_body(preferencelist=("plain",))
        print(body.get_content() if body else "", "-" * 72, sep="\n")
    print(f"{len(sent)} mail(s)")


if __name__ == "__main__":
    main()
