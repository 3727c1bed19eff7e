"""Operations commands run by hand against a stage (`python -m infra.ops --help`); see docs/operations.md."""
