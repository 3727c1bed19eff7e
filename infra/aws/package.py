"""`chalice package` with the generated merge template, and the checks that the merge took.

Run: `python -m infra.aws package --stage prod [--out build/prod]`; it also writes the bundled site to
`<out>/site/` (infra/site_bundle.py). Needs no AWS account; the first run
builds the Lambda bundle with pip from requirements.lock (chalice caches it in .chalice/deployments, later runs
are offline).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from infra.aws.template import FUNCTIONS, ROOT, chalice_stage, merge_template
from infra.resources import environment

DEFAULT_REGION = "eu-central-1"


class PackagingError(RuntimeError):
    pass


def _chalice_env(stage: str) -> dict[str, str]:
    """app.py names its queues from the environment at import time: give it the stage's names."""
    stage_env = chalice_stage(stage)["environment_variables"]
    drift = {k: (stage_env.get(k), v) for k, v in environment(stage).items() if stage_env.get(k) != v}
    if drift:
        raise PackagingError(f".chalice/config.json stage {stage!r} disagrees with infra/resources.py: {drift}")
    env = {**os.environ, **stage_env}
    env.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    env.pop("AWS_ENDPOINT_URL", None)
    return env


RUNTIME_LOCK = ROOT / "requirements.lock"


def _chalice_with_lock() -> list[str]:
    """The chalice CLI, bundling the hashed requirements.lock instead of <project>/requirements.txt.

    chalice hard-wires requirements.txt, the hand-edited input that pins only direct dependencies; the lock
    (`make lock`) pins and hashes all of them, so every bundle holds the same versions
    (tests/infra/test_bundle_lock.py checks the bundle against the lock).
    """
    if not RUNTIME_LOCK.exists():
        raise PackagingError(f"{RUNTIME_LOCK.name} is missing: run `make lock`")
    code = (
        "import sys\n"
        "from chalice.cli import main\n"
        "from chalice.deploy.packager import BaseLambdaDeploymentPackager as P\n"
        "if not hasattr(P, '_get_requirements_filename'):\n"
        "    raise SystemExit('chalice changed: infra/aws/package.py cannot hand it the lock')\n"
        f"P._get_requirements_filename = lambda self, project_dir: {str(RUNTIME_LOCK)!r}\n"
        "sys.argv[0] = 'chalice'\n"
        "raise SystemExit(main())\n"
    )
    return [sys.executable, "-c", code]


def package(stage: str, outdir: Path) -> Path:
    """Write `<outdir>/sam.json` (+ deployment.zip) for `stage`; returns the template's path."""
    outdir = Path(outdir).resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    merge_path = outdir.parent / f"{outdir.name}.merge.json"
    merge_path.write_text(json.dumps(merge_template(stage), indent=2, ensure_ascii=False) + "\n")
    result = subprocess.run(
        [
            *_chalice_with_lock(),
            "--project-dir",
            str(ROOT),
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(merge_path),
            str(outdir),
        ],
        env=_chalice_env(stage),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise PackagingError(f"chalice package failed:\n{result.stdout}\n{result.stderr}")
    template_path = outdir / "sam.json"
    problems = merge_problems(json.loads(template_path.read_text()))
    if problems:
        raise PackagingError("the merge template does not fit chalice's output:\n  " + "\n  ".join(problems))
    return template_path


CHECKOV_VENV = ROOT / ".venv" / "checkov-venv"


def checkov() -> Path:
    """checkov in its own venv (it pins boto3/packaging versions that clash with requirements-dev.txt).

    The Makefile's install step builds it from requirements-checkov.lock, so a failing install shows as a make step.
    """
    exe = CHECKOV_VENV / "bin" / "checkov"
    if not exe.exists():
        raise PackagingError(f"{exe} is missing: `make test` installs it from requirements-checkov.lock")
    return exe


def merge_problems(template: dict) -> list[str]:
    """An override whose logical id or event name chalice renamed leaves a resource without a Type; a function
    app.py gained but infra/aws/template/functions.py does not know keeps chalice's shared role and defaults."""
    own_roles = {fn.logical_id for fn in FUNCTIONS}
    problems = [
        f"{rid} has no Type (chalice no longer emits it?)"
        for rid, r in template["Resources"].items()
        if "Type" not in r
    ]
    for rid, r in template["Resources"].items():
        if (
            r.get("Type") == "AWS::Serverless::Function"
            and rid not in own_roles
            and r["Properties"].get("Role") == {"Fn::GetAtt": ["DefaultRole", "Arn"]}
        ):
            problems.append(
                f"{rid} runs with chalice's shared DefaultRole: add it to FUNCTIONS in "
                "infra/aws/template/functions.py (its own role, chalice name)"
            )
        for name, event in (r.get("Properties", {}).get("Events") or {}).items():
            if "Type" not in event:
                problems.append(f"{rid}.Events.{name} has no Type (chalice renamed the event source?)")
        definition = r.get("Properties", {}).get("DefinitionBody") or {}
        for name, scheme in (definition.get("securityDefinitions") or {}).items():
            if "type" not in scheme:
                problems.append(f"{rid} authorizer {name} has no type (app.py renamed its authorizer?)")
            arns = (scheme.get("x-amazon-apigateway-authorizer") or {}).get("providerARNs", [])
            if any(not isinstance(arn, dict) for arn in arns):
                problems.append(
                    f"{rid} authorizer {name} has literal providerARNs {arns}: point them at the "
                    "stack's user pool in infra/aws/template/api.py"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.aws")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("package", help="write build/<stage>/sam.json and deployment.zip")
    p.add_argument("--stage", required=True, choices=sorted(_stages()))
    p.add_argument("--out", type=Path)
    m = sub.add_parser("merge-template", help="print the generated merge template")
    m.add_argument("--stage", required=True, choices=sorted(_stages()))
    args = parser.parse_args(argv)
    if args.command == "merge-template":
        print(json.dumps(merge_template(args.stage), indent=2, ensure_ascii=False))
        return 0
    from infra.site_bundle import BundleError, build_site

    outdir = args.out or ROOT / "build" / args.stage
    try:
        path = package(args.stage, outdir)
        site = build_site(Path(outdir) / "site")  # what `make deploy` uploads (infra/site_bundle.py)
    except (PackagingError, BundleError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    for built in (path, site):
        print(f"packaged {args.stage}: {built.relative_to(ROOT) if built.is_relative_to(ROOT) else built}")
    return 0


def _stages():
    from infra.aws.stages import STAGES

    return STAGES


if __name__ == "__main__":
    sys.exit(main())
