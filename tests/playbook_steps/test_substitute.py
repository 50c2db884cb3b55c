"""Variable substitution: one pass, inserted values are data and never expanded again."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medic.playbooks.context import StepContext
from medic.playbooks.substitute import (
    MASK,
    SubstitutionError,
    redact,
    redact_truncated,
    substitute,
    url_encode,
)


def context(**kw: object) -> StepContext:
    values: dict[str, object] = {
        "execution_id": 7,
        "service_name": "worker-1",
        "heartbeat_name": "nightly",
        "alert_id": 42,
        "secrets": {"TOKEN": "s3cr3t-value"},
    }
    values.update(kw)
    return StepContext(**values)  # type: ignore[arg-type]


def test_every_variable_and_a_secret() -> None:
    text = "${SERVICE_NAME}/${HEARTBEAT_NAME}/${ALERT_ID}/${EXECUTION_ID}/${secrets.TOKEN}"
    assert substitute(text, context()) == "worker-1/nightly/42/7/s3cr3t-value"


def test_double_dollar_is_a_literal_dollar() -> None:
    assert substitute("cost $$5 and $${SERVICE_NAME}", context()) == "cost $5 and ${SERVICE_NAME}"


def test_none_values_become_empty() -> None:
    ctx = context(service_name=None, heartbeat_name=None, alert_id=None)
    assert substitute("[${SERVICE_NAME}|${HEARTBEAT_NAME}|${ALERT_ID}]", ctx) == "[||]"


def test_recurses_into_lists_tuples_and_dicts_keys_included() -> None:
    value = {
        "svc-${SERVICE_NAME}": ["${ALERT_ID}", 3, True, None, {"deep": "${secrets.TOKEN}"}],
        "n": 1.5,
        "t": ("${EXECUTION_ID}",),
    }
    assert substitute(value, context()) == {
        "svc-worker-1": ["42", 3, True, None, {"deep": "s3cr3t-value"}],
        "n": 1.5,
        "t": ("7",),
    }


def test_keys_colliding_after_substitution_are_an_error() -> None:
    with pytest.raises(SubstitutionError, match="two keys"):
        substitute({"${SERVICE_NAME}": 1, "worker-1": 2}, context())


def test_missing_secret_is_named_never_valued() -> None:
    with pytest.raises(SubstitutionError, match=r"secrets\.OTHER") as error:
        substitute("Bearer ${secrets.OTHER}", context())
    assert "s3cr3t" not in str(error.value)


@pytest.mark.parametrize("text", ["${NOPE}", "${secrets.}", "${secrets.a b}", "oops ${"])
def test_unknown_or_malformed_references_raise(text: str) -> None:
    with pytest.raises(SubstitutionError):
        substitute(text, context())


def test_a_service_name_that_looks_like_a_reference_stays_literal() -> None:
    ctx = context(service_name="${secrets.TOKEN}", heartbeat_name="$${ALERT_ID}")
    assert substitute("${SERVICE_NAME} ${HEARTBEAT_NAME}", ctx) == "${secrets.TOKEN} $${ALERT_ID}"


def test_url_encode_keeps_a_value_in_one_piece() -> None:
    ctx = context(service_name="a/../b?x=1#@evil")
    url = substitute("https://h/s/${SERVICE_NAME}", ctx, encode=url_encode)
    assert url == "https://h/s/a%2F..%2Fb%3Fx%3D1%23%40evil"


caller_text = st.text(alphabet=st.sampled_from("${}.$abSERVICE_NAMEsecrets.TOKEN x"), max_size=40)


@given(service=caller_text, heartbeat=caller_text)
def test_property_caller_values_are_inserted_verbatim(service: str, heartbeat: str) -> None:
    ctx = context(service_name=service, heartbeat_name=heartbeat)
    template = "<${SERVICE_NAME}|$$|${HEARTBEAT_NAME}|${ALERT_ID}>"
    assert substitute(template, ctx) == f"<{service}|$|{heartbeat}|42>"
    # Substituting the result of a value again is what must never happen implicitly:
    assert substitute("${SERVICE_NAME}", ctx) == service


@given(service=st.text(max_size=60))
def test_property_no_secret_leaks_through_a_caller_value(service: str) -> None:
    ctx = context(service_name=service)
    result = substitute(["${SERVICE_NAME}", {"k": "${SERVICE_NAME}"}], ctx)
    assert result == [service, {"k": service}]
    if "s3cr3t-value" not in service:
        assert "s3cr3t-value" not in repr(result)


def test_redact_masks_every_form_of_a_secret() -> None:
    secrets = {"A": 'p@ss/w"rd', "B": "abc", "C": "longer-secret"}
    text = 'raw p@ss/w"rd json p@ss/w\\"rd url p%40ss%2Fw%22rd short abc longer-secret'
    assert redact(text, secrets) == f"raw {MASK} json {MASK} url {MASK} short abc {MASK}"


def test_redact_truncated_masks_a_cut_off_secret() -> None:
    assert redact_truncated("token: s3cr3t-v", {"T": "s3cr3t-value"}) == f"token: {MASK}"
    assert redact_truncated("the end", {"T": "s3cr3t-value"}) == "the end"


def test_context_repr_hides_secrets() -> None:
    assert "s3cr3t" not in repr(context())
