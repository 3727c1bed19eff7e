"""Packaging and deploying vaxslot on AWS: `make package STAGE=prod`, `make deploy STAGE=prod …`.

`.chalice/config.json` holds each function's memory, timeout, reserved concurrency and tracing (read by
`chalice_config.py`), `stages.py` the other operations knobs per stage; `template/` turns infra/resources.py plus
both into the CloudFormation merge template, `package.py` runs `chalice package` with it and checks the result,
`deploy.py` deploys it through S3 and uploads the site.
"""
