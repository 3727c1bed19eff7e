"""`.chalice/config.json`, read the way chalice reads it: the one home of each function's memory, timeout,
reserved concurrency and tracing (`lambda_functions` of each stage), where a Chalice user looks for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / ".chalice" / "config.json"


@dataclass(frozen=True)
class LambdaSettings:
    memory_mb: int
    timeout_s: int
    reserved_concurrency: int | None  # None: the function shares the account's unreserved pool
    xray: bool


def load_config() -> dict:
    return json.loads(CONFIG_PATH.read_text())


def chalice_stage(stage: str, config: dict | None = None) -> dict:
    return (config or load_config())["stages"][stage]


def lambda_settings(stage: str, function: str, config: dict | None = None) -> LambdaSettings:
    """What chalice packages for `function` (its Python name, `api_handler` for the API) in `stage`.

    Chalice's precedence: the stage's `lambda_functions` entry, the stage, the top-level `lambda_functions`
    entry, the top level; its defaults (128 MB, 60 s) are never what we want, so a missing value is an error.
    """
    config = config or load_config()
    stage_config = config["stages"][stage]
    chain = (
        stage_config.get("lambda_functions", {}).get(function, {}),
        stage_config,
        config.get("lambda_functions", {}).get(function, {}),
        config,
    )

    def lookup(key: str, default=KeyError):
        for scope in chain:
            if key in scope:
                return scope[key]
        if default is KeyError:
            raise KeyError(f".chalice/config.json sets no {key} for {function} in stage {stage}")
        return default

    return LambdaSettings(
        memory_mb=lookup("lambda_memory_size"),
        timeout_s=lookup("lambda_timeout"),
        reserved_concurrency=lookup("reserved_concurrency", None),
        xray=bool(lookup("xray", False)),
    )
