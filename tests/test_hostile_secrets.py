"""No leak: a secret is masked in every form it can take, in every output, before any cut.

Attacked from the masker itself, from an API that echoes the credentials back in every encoding
into every field the gate reports, from credentials that would break a header, from an API URL
with a password, and from a deploy's source URL holding keys."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests_mock as rm

from gate.apitext import api_text
from gate.cli import main
from gate.config import load_credentials, parse_api_url
from gate.deploy.source_url import encode_source_url
from gate.errors import ConfigError
from gate.redact import MASK, Masker
from tests.fakes import OUTPUT_FILES, FakeClock, every_output, job_body

API = "https://api.test"
ACCESS, SECRET = "AKIA-visible-7f3e", "sk+Very/Secret=Value&42<>\"'"
TOKEN = "tok-Bearer/Secret+99=="
PAIR = f"{ACCESS}:{SECRET}"


def attack_forms(value: str) -> list[str]:
    """Every form a careless server or log could give ``value``, written out independently."""
    raw = value.encode()
    return [
        value,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b64encode(b"x" + raw).decode()[4:-4],
        base64.b64encode(b"xy" + raw).decode()[4:-4],
        quote(value, safe=""),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(value, safe="")),
        quote_plus(value),
        html.escape(value),
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        value[3:14],  # a piece
    ]


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Every 8-character piece of any attack form of any secret found in ``text``."""
    found = []
    for secret in secrets:
        for form in attack_forms(secret):
            for i in range(len(form) - 7):
                if form[i : i + 8] in text:
                    found.append(form[i : i + 8])
    return found


# -- the masker --------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", attack_forms(SECRET) + attack_forms(PAIR) + attack_forms(TOKEN))
def test_every_form_is_masked(form: str) -> None:
    masker = Masker([ACCESS, SECRET, PAIR, TOKEN])
    text = masker.mask(f"before {form} after")
    assert not leaks(text, [SECRET, TOKEN]), text
    assert text.startswith("before ") and text.endswith(" after") and MASK in text


def test_the_basic_header_is_masked() -> None:
    creds = load_credentials({"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": "sk-plain-secret-1"})
    masker = Masker(creds.secrets())
    assert masker.mask(f"Authorization: {creds.header()}") == f"Authorization: Basic {MASK}"


def test_masking_happens_before_the_cut() -> None:
    masker = Masker([SECRET])
    for start in range(0, 40):
        text = "x" * start + SECRET + "y" * 50
        for limit in range(start, start + len(SECRET) + 2):
            shown = api_text(text, masker, limit)
            # Whatever survives the cut, no 4-character tail of the secret's start is left bare.
            assert SECRET[:4] not in shown, (start, limit, shown)


def test_ordinary_text_is_left_alone() -> None:
    masker = Masker([SECRET, TOKEN])
    text = "update 1234: Running 45% · eta 3m10s · https://api.test/cfp/v1"
    assert masker.mask(text) == text


def test_a_whole_value_is_masked_in_every_encoding_but_its_pieces_are_not() -> None:
    url = "s3://KEYID123:SECRETKEY456@bucket/build.zip?token=abcdef123456"
    masker = Masker(whole=[url])
    for form in (url, quote(url, safe=""), quote_plus(url), html.escape(url), json.dumps(url)[1:-1]):
        assert masker.mask(f"[{form}]") == f"[{MASK}]"
    assert masker.mask("https://api.test") == "https://api.test"


# -- an API that echoes the credentials into everything the gate reports -----------------------------


def _everything(secret_forms: str) -> dict[str, Any]:
    return job_body(6, f"Failed {secret_forms}"[:200], error=secret_forms, update_id=1234)


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_an_echoing_api_leaks_nothing_into_any_output(
    requests_mock: rm.Mocker, tmp_path: Path, auth: str
) -> None:
    env = {"CLANFORGE_ACCOUNT_SERVICE_ID": "77", "CLANFORGE_API_URL": API, **every_output(tmp_path)}
    if auth == "basic":
        env |= {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET}
        secrets = [SECRET, ACCESS, PAIR]
    else:
        env |= {"CLANFORGE_TOKEN": TOKEN}
        secrets = [TOKEN]

    def echo(request: Any, context: Any) -> str:
        forms = " ".join(f for s in secrets for f in attack_forms(s))
        header = request.headers.get("Authorization", "")
        if echo.calls == 0:  # type: ignore[attr-defined]
            echo.calls += 1  # type: ignore[attr-defined]
            context.status_code = 500
            return json.dumps({"error_message": f"{header} {forms}"})
        return json.dumps(_everything(f"{header} {forms}"))

    echo.calls = 0  # type: ignore[attr-defined]
    requests_mock.get(f"{API}/cfp/v1/imageupdate/1234/status", text=echo)
    out, err = io.StringIO(), io.StringIO()
    code = main(["--update-id", "1234", "--verbose"], env=env, stdout=out, stderr=err, clock=FakeClock())
    assert code == 1
    outputs = {
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        **{name: (tmp_path / name).read_text(encoding="utf-8") for name in OUTPUT_FILES.values()},
    }
    for name, text in outputs.items():
        assert not leaks(text, secrets), (name, leaks(text, secrets), text[:2000])
    assert MASK in outputs["result.json"]


# -- credentials that cannot be used safely ----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["key-with\nnewline", "key-with\rreturn", "key\x00with-nul", "key\x1b[31m-ansi", "key with space",
     "key-\u00e9-accent", "key-\u2028-sep", "shrt-7", "1234567"],
)  # fmt: skip
@pytest.mark.parametrize("variable", ["CLANFORGE_ACCESS_KEY", "CLANFORGE_SECRET_KEY", "CLANFORGE_TOKEN"])
def test_a_credential_that_cannot_go_in_a_header_is_refused_by_name(variable: str, value: str) -> None:
    env = {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET}
    if variable == "CLANFORGE_TOKEN":
        env = {}
    env[variable] = value
    with pytest.raises(ConfigError) as info:
        load_credentials(env)
    message = str(info.value)
    assert variable in message
    assert value.strip() not in message and repr(value) not in message


def test_a_credential_file_is_checked_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("tok-1234\nsecond-line\n")
    with pytest.raises(ConfigError, match="CLANFORGE_TOKEN_FILE") as info:
        load_credentials({"CLANFORGE_TOKEN_FILE": str(path)})
    assert "second-line" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2-pass@api.test",
        "http://user:hunter2-pass@127.0.0.1:8080",
        "ftp://user:hunter2-pass@api.test",
        "user:hunter2-pass@api.test",
        "https://:hunter2-pass@api.test/",
        "https://user:hunter2-pass@api.test?x=1",
        "gopher://hunter2-pass@api.test",
    ],
)
def test_an_api_url_with_userinfo_is_refused_without_echo(url: str) -> None:
    with pytest.raises(ConfigError, match="must not hold credentials") as info:
        parse_api_url(url)
    assert "hunter2" not in str(info.value)


def test_an_api_url_with_userinfo_leaks_nowhere_through_the_cli(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = {
        "CLANFORGE_ACCESS_KEY": ACCESS,
        "CLANFORGE_SECRET_KEY": SECRET,
        "CLANFORGE_ACCOUNT_SERVICE_ID": "7",
        "CLANFORGE_RESULT_FILE": str(tmp_path / "r.json"),
    }
    code = main(["--update-id", "1", "--api-url", "ftp://u:hunter2-pass@x"], env=env, stdout=out, stderr=err)
    assert code == 3
    assert "hunter2" not in out.getvalue() + err.getvalue() + (tmp_path / "r.json").read_text()


# -- the source URL of a deploy ------------------------------------------------------------------------

SOURCE = "s3://AKIDSOURCE99:source/secret+key@bucket/build.zip?token=tok-source-777"


@pytest.mark.parametrize("via", ["flag", "env", "file"])
def test_the_source_url_is_masked_everywhere(requests_mock: rm.Mocker, tmp_path: Path, via: str) -> None:
    env = {
        "CLANFORGE_ACCESS_KEY": ACCESS,
        "CLANFORGE_SECRET_KEY": SECRET,
        "CLANFORGE_ACCOUNT_SERVICE_ID": "77",
        "CLANFORGE_API_URL": API,
        "CLANFORGE_RESULT_FILE": str(tmp_path / "result.json"),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    argv = ["deploy", "--image-id", "5", "--machine-id", "9", "--desc", "d", "--verbose"]
    argv += ["--skip-diff", "--skip-version", "--skip-install"]
    if via == "flag":
        argv += ["--url", SOURCE]
    elif via == "env":
        env["CLANFORGE_URL"] = SOURCE
    else:
        (tmp_path / "url").write_text(SOURCE + "\n")
        env["CLANFORGE_URL_FILE"] = str(tmp_path / "url")

    def create(request: Any, context: Any) -> str:
        # The API echoes what it got, URL included, in its error.
        context.status_code = 400
        return json.dumps({"success": False, "error": True, "error_message": f"bad url {request.url}"})

    requests_mock.get(f"{API}/cfp/v1/imageupdate/create", text=create)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdout=out, stderr=err, clock=FakeClock())
    assert code == 3
    # It did reach the API, its credentials percent-encoded as the API needs (gate.deploy.source_url).
    assert requests_mock.last_request.qs["url"] == [encode_source_url(SOURCE).lower()]
    everything = out.getvalue() + err.getvalue()
    everything += "".join((tmp_path / n).read_text() for n in ("result.json", "output", "summary"))
    for secret in ("AKIDSOURCE99", "source/secret+key", "tok-source-777", "source%2Fsecret"):
        assert secret not in everything and quote_plus(secret) not in everything, secret
