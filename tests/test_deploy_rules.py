"""The pure rules of a real deploy: install evidence, lock and diff readings, the new settings,
the source URL, and the Bearer host's optional account service id."""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests_mock as rm

from gate.config import load_settings
from gate.deploy.choices import (
    InstallAt,
    InstallMode,
    parse_disable_timeout,
    parse_install_at,
    parse_percentage,
)
from gate.deploy.fleet_state import Evidence, FleetCounts, InstallJobs, Verdict, judge, parse_install_jobs
from gate.deploy.image_state import DiffChanges, ImageLock, diff_changes, parse_image_lock
from gate.deploy.source_url import encode_source_url, mask_source_url, source_url_secrets
from gate.errors import ConfigError, MalformedResponse
from tests.fakes import ACCESS, BASE, SECRET, TOKEN, cli, create_url, happy

EMPTY = FleetCounts(0, 0, 0)
DONE = FleetCounts(0, 0, 10)
NONE_LEFT = InstallJobs(33, 0, 4)


# --------------------------------------------------------------------------- install evidence


@pytest.mark.parametrize("created_here", [True, False])
def test_an_unmarked_fleet_is_never_installed(created_here: bool) -> None:
    for evidence in (Evidence(False), Evidence(True)):
        assert judge(EMPTY, NONE_LEFT, evidence, created_here=created_here) is Verdict.UNMARKED


def test_install_jobs_of_the_version_or_pending_machines_mean_installing() -> None:
    waiting = InstallJobs(33, 10, 0)
    assert judge(EMPTY, waiting, Evidence(True), created_here=True) is Verdict.INSTALLING
    assert judge(DONE, waiting, Evidence(True), created_here=True) is Verdict.INSTALLING
    assert judge(FleetCounts(2, 0, 8), NONE_LEFT, Evidence(True), created_here=True) is Verdict.INSTALLING


def test_done_needs_the_install_seen_for_a_version_made_here() -> None:
    # Old counts right after publishing, before the version's jobs show: not proof.
    assert judge(DONE, NONE_LEFT, Evidence(False), created_here=True) is Verdict.NOT_PROVEN
    assert judge(DONE, NONE_LEFT, Evidence(True), created_here=True) is Verdict.DONE
    # A version given to resume may have installed before the watch began.
    assert judge(DONE, NONE_LEFT, Evidence(False), created_here=False) is Verdict.DONE


def test_evidence_is_kept_between_readings() -> None:
    seen = Evidence().seen(EMPTY, InstallJobs(33, 3, 0))
    assert seen.started and seen.seen(DONE, NONE_LEFT).started
    assert not Evidence().seen(DONE, NONE_LEFT).started


def test_install_jobs_are_filtered_by_version() -> None:
    body = {
        "installs": [
            {"target_imageversionid": 33},
            {"target_imageversionid": "33"},
            {"target_imageversionid": 34},
            {"jobid": 9},
        ]
    }
    assert parse_install_jobs(body, 33) == InstallJobs(33, 2, 2)
    assert parse_install_jobs({"success": True}, 33) == InstallJobs(33, 0, 0)
    with pytest.raises(MalformedResponse):
        parse_install_jobs({"installs": "none"}, 33)


# --------------------------------------------------------------------------- lock and diff readings


def test_image_lock_shapes() -> None:
    assert parse_image_lock({"diffid": 218595}) == ImageLock(diff_id=218595)
    assert parse_image_lock({"options": {"updateid": "7"}}) == ImageLock(update_id=7)
    assert not parse_image_lock({"diffid": None, "updateid": 0, "update_urls": []}).locked
    with pytest.raises(MalformedResponse):
        parse_image_lock({"diffid": "soon"})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"diff_info": {"imageid": 5, "gameid": 7, "machineid": 9}}, DiffChanges.UNKNOWN),
        ({"jobstatename": "Complete"}, DiffChanges.UNKNOWN),
        ({"diff_info": {"files": {"added": [], "modified": [], "removed": []}}}, DiffChanges.EMPTY),
        ({"diff_info": {"files": {"added": [], "modified": ["a"], "removed": []}}}, DiffChanges.CHANGED),
        ({"diff_info": {"files": []}}, DiffChanges.EMPTY),
        ({"diff_info": {"added": 0, "modified": 0, "removed": 0}}, DiffChanges.EMPTY),
        ({"added": ["x"], "removed": []}, DiffChanges.CHANGED),
    ],
)
def test_diff_changes_in_both_shapes(body: dict[str, object], expected: DiffChanges) -> None:
    assert diff_changes(body) is expected


# --------------------------------------------------------------------------- settings


def test_install_at_values() -> None:
    assert parse_install_at("now") == InstallAt()
    assert parse_install_at("MANUAL").mode is InstallMode.MANUAL
    at = parse_install_at(1_800_000_600)
    assert at.param(1_800_000_000.7) == "1800000600" and at.setting == "1800000600"
    assert InstallAt().param(1_800_000_000.7) == "1800000000"
    assert InstallAt(InstallMode.MANUAL).param(0) is None
    for bad in ("later", "-5", "0", True):
        with pytest.raises(ConfigError, match="install_at"):
            parse_install_at(bad)


def test_disable_timeout_is_sent_in_minutes() -> None:
    assert parse_disable_timeout("4h") == 240 and parse_disable_timeout("90m") == 90
    for bad in ("90s", "30", "1h30s"):
        with pytest.raises(ConfigError, match="whole number of minutes"):
            parse_disable_timeout(bad)
    assert parse_percentage("20", "disable_percentage") == 20
    with pytest.raises(ConfigError):
        parse_percentage("101", "disable_percentage")


def test_the_new_settings_reach_the_version_create(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    env = {"CLANFORGE_DISABLE_PERCENTAGE": "15", "CLANFORGE_INSTALL_AT": "1800009999"}
    rc, out, err = cli(*BASE, "--disable-timeout", "2h", env=env)
    assert rc == 0, out + err
    create = next(r for r in requests_mock.request_history if r.path.endswith("imageversion/create"))
    assert create.qs["disable_timeout"] == ["120"] and create.qs["disable_percentage"] == ["15"]
    assert create.qs["install_at"] == ["1800009999"]


def test_a_bad_new_setting_is_refused_before_anything_is_sent(requests_mock: rm.Mocker) -> None:
    rc, _, err = cli(*BASE, "--disable-timeout", "45s")
    assert rc == 3 and "whole number of minutes" in err and requests_mock.call_count == 0
    rc, _, err = cli(*BASE, "--on-empty-diff", "ignore")
    assert rc == 3 and "on_empty_diff" in err


def test_a_bearer_token_makes_the_account_service_id_optional() -> None:
    args = argparse.Namespace(update_ids=["5"], api_url="https://api.multiplay.dev")
    settings = load_settings(args, {"CLANFORGE_TOKEN": TOKEN})
    assert settings.account_service_id is None and settings.credentials.scheme == "bearer"
    given = load_settings(args, {"CLANFORGE_TOKEN": TOKEN, "CLANFORGE_ACCOUNT_SERVICE_ID": "77"})
    assert given.account_service_id == "77"
    with pytest.raises(ConfigError, match="account_service_id is required"):
        load_settings(args, {"CLANFORGE_ACCESS_KEY": ACCESS, "CLANFORGE_SECRET_KEY": SECRET})


def test_a_bearer_wait_sends_no_account_service_id(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        "https://api.test/cfp/v1/imageupdate/5/status", json={"jobstateid": 5, "jobstatename": "Complete"}
    )
    env = {"CLANFORGE_TOKEN": TOKEN, "CLANFORGE_ACCESS_KEY": "", "CLANFORGE_SECRET_KEY": ""}
    rc, out, err = cli("wait", "--update-id", "5", env={**env, "CLANFORGE_ACCOUNT_SERVICE_ID": ""})
    assert rc == 0, out + err
    assert "accountserviceid" not in requests_mock.request_history[0].qs
    assert requests_mock.request_history[0].headers["Authorization"] == f"Bearer {TOKEN}"


# --------------------------------------------------------------------------- the source URL


def test_source_url_credentials_are_encoded_twice_on_the_wire(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    url = "s3://AKIAEXAMPLE:se/cr+et@builds/42.zip?requesttimeout=300"
    rc, out, err = cli(*BASE, "--url", url)
    assert rc == 0, out + err
    create = next(r for r in requests_mock.request_history if r.url.startswith(create_url("imageupdate")))
    raw = parse_qs(urlsplit(create.url).query, keep_blank_values=True)
    # The query string is decoded once here (as the API does); the credentials are still encoded.
    assert raw["url"] == ["s3://AKIAEXAMPLE:se%2Fcr%2Bet@builds/42.zip?requesttimeout=300"]
    assert "se%252Fcr%252Bet" in create.url
    assert unquote(raw["url"][0]) == url


def test_source_url_helpers() -> None:
    assert encode_source_url("steam://740/beta") == "steam://740/beta"
    assert encode_source_url("gs://u:p@w@bucket/x") == "gs://u:p%40w@bucket/x"
    assert mask_source_url("s3://AK:se/cr@b/x?requesttimeout=5") == "s3://***@b/x?requesttimeout=5"
    assert mask_source_url("s3://bucket/x") == "s3://bucket/x"
    assert set(source_url_secrets("s3://AK:se/cr@b/x")) >= {"AK", "se/cr", "se%2Fcr", "se%252Fcr"}
    assert source_url_secrets("s3://bucket/x") == ()


def test_source_url_credentials_never_show_even_verbose(requests_mock: rm.Mocker) -> None:
    happy(requests_mock)
    url = "s3://AKIAEXAMPLE:se/cr+et@builds/42.zip"
    rc, out, err = cli(*BASE, "--url", url, "--verbose")
    assert rc == 0, out + err
    assert "GET https://api.test/cfp/v1/imageupdate/create" in out
    for secret in ("AKIAEXAMPLE", "se/cr+et", "se%2Fcr%2Bet", "se%252Fcr%252Bet"):
        assert secret not in out + err


def test_install_at_from_yaml(requests_mock: rm.Mocker, tmp_path: Path) -> None:
    happy(requests_mock)
    cfg = tmp_path / "deploy.yml"
    cfg.write_text("install_at: manual\ngame_id: 77\non_empty_diff: publish\n", encoding="utf-8")
    requests_mock.get("https://api.test/cfp/v1/image/options", json={"success": True})
    rc, out, err = cli(*BASE, "--config", str(cfg))
    assert rc == 0, out + err
    create = next(r for r in requests_mock.request_history if r.path.endswith("imageversion/create"))
    assert "install_at" not in create.qs and "install left manual" in out
    assert "--install-at manual --game-id 77 --on-empty-diff publish" in out  # kept in the resume command
