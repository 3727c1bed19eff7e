"""`make mail`: print the mails the local SES accepted (sender, recipient, subject), newest last."""

from __future__ import annotations

import email
import email.policy
import json
import os
import sys
import urllib.request


def main() -> None:
    url = f"http://127.0.0.1:{os.environ.get('VAXSLOT_AWS_PORT', '4566')}/moto-api/data.json"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            sent = json.load(response).get("ses", {}).get("RawMessage", [])
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
