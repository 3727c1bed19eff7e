"""`make loadtest`'s guard: it never loads prod by accident, nor a stack other than the named stage's, nor
without bounds. No AWS here: the stage's EndpointURL is handed in as CloudFormation would give it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from infra.loadtest import guard

DEV_API = "https://dev123.execute-api.eu-central-1.amazonaws.com/api/"
PROD_API = "https://prod456.execute-api.eu-central-1.amazonaws.com/api/"


def target(stage: str = "dev", url: str = DEV_API, users: int = 200, duration_s: float = 300, **kw) -> guard.Target:
    return guard.Target(stage, url, users, duration_s, **kw)


def test_a_staged_stack_at_its_own_url_within_bounds_may_be_loaded():
    guard.check_request(target())
    guard.check_stack(target(url="HTTPS://DEV123.execute-api.eu-central-1.amazonaws.com/api"), DEV_API)


def test_prod_is_refused_without_the_explicit_flag_and_with_it_only_at_prods_own_url():
    with pytest.raises(guard.Refused, match="i-know-this-is-prod"):
        guard.check_request(target("prod", PROD_API))
    allowed = target("prod", PROD_API, i_know_this_is_prod=True)
    guard.check_request(allowed)
    guard.check_stack(allowed, PROD_API)
    with pytest.raises(guard.Refused, match="not the API of vaxslot-prod"):
        guard.check_stack(target("prod", DEV_API, i_know_this_is_prod=True), PROD_API)


def test_prods_url_named_as_another_stage_is_refused_because_it_is_not_that_stages_stack():
    with pytest.raises(guard.Refused, match="not the API of vaxslot-dev"):
        guard.check_stack(target("dev", PROD_API), DEV_API)


def test_a_stage_without_a_stack_an_unknown_stage_or_a_plain_http_url_is_refused():
    with pytest.raises(guard.Refused, match="no stack vaxslot-dev"):
        guard.check_stack(target(), None)
    with pytest.raises(guard.Refused, match="unknown stage"):
        guard.check_request(target("staging"))
    with pytest.raises(guard.Refused, match="https"):
        guard.check_request(target(url="http://127.0.0.1:8000"))


@pytest.mark.parametrize(
    ("users", "duration_s"), [(0, 300), (guard.MAX_USERS + 1, 300), (200, 0), (200, guard.MAX_DURATION_S + 1)]
)
def test_users_and_duration_are_bounded(users, duration_s):
    with pytest.raises(guard.Refused, match=r"--users|--duration"):
        guard.check_request(target(users=users, duration_s=duration_s))


class FakeCloudFormation:
    def __init__(self, stacks: dict[str, list[dict]]):
        self.stacks = stacks

    def describe_stacks(self, StackName: str) -> dict:
        if StackName == "vaxslot-prod" and "vaxslot-prod" not in self.stacks:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "DescribeStacks")
        if StackName not in self.stacks:
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"Stack with id {StackName} does not exist"}},
                "DescribeStacks",
            )
        return {"Stacks": [{"StackName": StackName, "Outputs": self.stacks[StackName]}]}


class FakeSession:
    def __init__(self, stacks: dict[str, list[dict]]):
        self.cloudformation = FakeCloudFormation(stacks)

    def client(self, name: str):
        assert name == "cloudformation"
        return self.cloudformation


def test_the_stage_endpoint_is_the_endpoint_url_output_of_the_stages_own_stack():
    session = FakeSession({"vaxslot-dev": [{"OutputKey": "EndpointURL", "OutputValue": DEV_API}]})
    assert guard.stage_endpoint("dev", session) == DEV_API
    assert guard.stage_endpoint("dev", FakeSession({})) is None
    with pytest.raises(guard.Refused, match="could not read the stack vaxslot-prod"):
        guard.stage_endpoint("prod", session)


def test_the_command_line_names_prod_only_with_the_flag_and_compares_the_url_as_the_stack_gives_it():
    line = ["--stage", "prod", "--account", "123456789012", "--url", PROD_API.rstrip("/"), "--campaign", "c"]
    with pytest.raises(guard.Refused, match="refusing to load prod"):
        guard.check_request(guard.target_of(guard.parse_args(line)))
    allowed = guard.target_of(guard.parse_args([*line, "--i-know-this-is-prod"]))
    guard.check_request(allowed)
    guard.check_stack(allowed, PROD_API)
    assert (allowed.users, allowed.duration_s) == (200, 300)  # bounded by default too
