"""Packaging vaxslot for AWS: `python -m infra.aws package --stage prod` (or `make package STAGE=prod`).

`stages.py` holds every operations knob per stage, `template.py` turns infra/resources.py plus those knobs
into the CloudFormation merge template, `package.py` runs `chalice package` with it and checks the result.
"""
