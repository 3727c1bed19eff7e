import pytest

from chalicelib import settings
from infra.resources import environment


@pytest.fixture()
def env(monkeypatch):
    for key, value in {**environment("prod"), "MAIL_SENDER": "a@example.org"}.items():
        monkeypatch.setenv(key, value)
    for key in ("PERSON_KEY_PEPPER", "PERSON_KEY_PEPPER_PARAMETER", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    settings.get_settings.cache_clear()
    yield monkeypatch
    settings.get_settings.cache_clear()


def test_outside_the_local_stage_a_missing_pepper_is_an_error_not_a_default(env):
    env.setenv("VAXSLOT_STAGE", "prod")
    with pytest.raises(RuntimeError, match="PERSON_KEY_PEPPER"):
        settings.get_settings()


def test_in_prod_the_pepper_comes_from_an_ssm_parameter(env):
    env.setenv("VAXSLOT_STAGE", "prod")
    env.setenv("PERSON_KEY_PEPPER_PARAMETER", "/vaxslot/prod/person-key-pepper")
    s = settings.get_settings()
    assert s.person_key_pepper is None and s.person_key_pepper_parameter == "/vaxslot/prod/person-key-pepper"
    assert s.table_name == "vaxslot-prod-bookings"


def test_the_local_stage_has_a_known_development_pepper(env):
    env.setenv("VAXSLOT_STAGE", "local")
    assert settings.get_settings().person_key_pepper
