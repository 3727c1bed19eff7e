"""The domain and the services know nothing of AWS, HTTP or powertools."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = ["chalicelib/booking/domain.py", "chalicelib/booking/services.py", "chalicelib/booking/ports.py",
        "chalicelib/notify/messages.py", "chalicelib/notify/services.py", "chalicelib/notify/ports.py"]
FORBIDDEN = {"boto3", "botocore", "pynamodb", "chalice", "aws_lambda_powertools", "requests"}


@pytest.mark.parametrize("path", PURE)
def test_pure_modules_import_no_infrastructure(path):
    tree = ast.parse((ROOT / path).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN


def test_app_py_routes_stay_thin():
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            assert node.end_lineno - node.lineno < 16, f"{node.name} is doing work that belongs in chalicelib"
