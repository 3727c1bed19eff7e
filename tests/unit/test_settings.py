import pytest
from moto import mock_aws

from chalicelib import bootstrap, settings
from infra.resources import environment

SECRET_NAME = "vaxslot/prod/person-key-pepper"


@pytest.fixture()
def env(monkeypatch):
    for key, value in {**environment("prod"), "MAIL_SENDER": "a@example.org"}.items():
        monkeypatch.setenv(key, value)
    for key in ("VAXSLOT_STAGE", "PERSON_KEY_PEPPER", "PERSON_KEY_PEPPER_SECRET_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    bootstrap.reset()
    yield monkeypatch
    bootstrap.reset()


@pytest.mark.parametrize("stage", [None, "", "production", "Prod", "test"])
def test_a_missing_or_unknown_stage_is_an_error_not_the_local_pepper(env, stage):
    if stage is not None:
        env.setenv("VAXSLOT_STAGE", stage)
    env.setenv("PERSON_KEY_PEPPER_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:x")
    with pytest.raises(RuntimeError, match="VAXSLOT_STAGE"):
        settings.get_settings()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_deployed_stage_without_the_pepper_secret_is_an_error_not_a_default(env, stage):
    env.setenv("VAXSLOT_STAGE", stage)
    with pytest.raises(RuntimeError, match="PERSON_KEY_PEPPER_SECRET_ARN"):
        settings.get_settings()


def test_a_deployed_stage_ignores_a_pepper_given_in_the_environment(env):
    env.setenv("VAXSLOT_STAGE", "prod")
    env.setenv("PERSON_KEY_PEPPER", "plain-text-pepper")
    with pytest.raises(RuntimeError, match="PERSON_KEY_PEPPER_SECRET_ARN"):
        settings.get_settings()
    env.setenv("PERSON_KEY_PEPPER_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:x")
    settings.get_settings.cache_clear()
    assert settings.get_settings().person_key_pepper is None


def test_in_prod_the_pepper_is_read_from_the_stacks_secret(env):
    env.setenv("VAXSLOT_STAGE", "prod")
    env.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():  # in process: no socket
        import boto3

        secret = boto3.client("secretsmanager", region_name="eu-central-1").create_secret(
            Name=SECRET_NAME, SecretString="generated-by-the-stack"
        )
        env.setenv("PERSON_KEY_PEPPER_SECRET_ARN", secret["ARN"])
        s = settings.get_settings()
        assert s.person_key_pepper is None and s.person_key_pepper_secret_arn == secret["ARN"]
        assert s.table_name == "vaxslot-prod-bookings"
        assert bootstrap._person_key_pepper() == b"generated-by-the-stack"


def test_the_local_stage_has_a_known_development_pepper(env):
    env.setenv("VAXSLOT_STAGE", "local")
    s = settings.get_settings()
    assert s.person_key_pepper and s.person_key_pepper_secret_arn is None


def test_in_prod_the_admission_token_key_is_read_from_the_stacks_secret_not_the_environment(env):
    env.setenv("VAXSLOT_STAGE", "prod")
    env.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    env.setenv("ADMISSION_TOKEN_KEY", "a-key-in-plain-text-that-must-be-ignored-0123")
    with mock_aws():
        import boto3

        secrets = boto3.client("secretsmanager", region_name="eu-central-1")
        pepper = secrets.create_secret(Name=SECRET_NAME, SecretString="generated-by-the-stack")
        key = secrets.create_secret(Name="vaxslot/prod/admission-token-key", SecretString="k" * 64)
        env.setenv("PERSON_KEY_PEPPER_SECRET_ARN", pepper["ARN"])
        env.setenv("ADMISSION_TOKEN_KEY_SECRET_ARN", key["ARN"])
        s = settings.get_settings()
        assert s.admission_token_key is None and s.admission_token_key_secret_arn == key["ARN"]
        assert bootstrap._admission_token_key() == b"k" * 64


def test_a_deployed_stage_without_the_admission_key_secret_fails_only_when_a_token_is_needed(env):
    env.setenv("VAXSLOT_STAGE", "prod")
    env.setenv("PERSON_KEY_PEPPER_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:x")
    env.delenv("ADMISSION_TOKEN_KEY_SECRET_ARN", raising=False)
    assert settings.get_settings().admission_token_key_secret_arn is None  # the workers start without it
    with pytest.raises(RuntimeError, match="ADMISSION_TOKEN_KEY_SECRET_ARN"):
        bootstrap._admission_token_key()
