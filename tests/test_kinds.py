"""The job kinds: one enum carries what differs per kind."""

from __future__ import annotations

import json

import pytest

from gate.kinds import WAITABLE, JobKind


def test_a_kind_is_its_api_name() -> None:
    assert [str(kind) for kind in WAITABLE] == ["imageupdate", "imagediff", "imageversion"]
    assert JobKind.IMAGE_DIFF == "imagediff"
    assert json.dumps({"kind": JobKind.IMAGE_VERSION}) == '{"kind": "imageversion"}'


@pytest.mark.parametrize(
    ("kind", "job_id", "label"),
    [
        (JobKind.IMAGE_UPDATE, 11, "image update 11"),
        (JobKind.IMAGE_DIFF, 22, "image diff 22"),
        (JobKind.IMAGE_VERSION, 33, "image version 33"),
        (JobKind.FLEET_INSTALL, 5, "image 5 install"),
        (JobKind.FLEET_INSTALL, None, "fleet install"),
        (JobKind.IMAGE_DIFF, None, "image diff"),
    ],
)
def test_one_name_per_job(kind: JobKind, job_id: int | None, label: str) -> None:
    assert kind.label(job_id) == label


def test_paths_ids_flags_and_output_names() -> None:
    assert JobKind.IMAGE_DIFF.status_path(55) == "/cfp/v1/imagediff/55/status"
    assert JobKind.IMAGE_VERSION.create_path() == "/cfp/v1/imageversion/create"
    assert [k.id_field for k in WAITABLE] == ["updateid", "diffid", "imageversionid"]
    assert [k.resume_flag for k in WAITABLE] == ["--update-id", "--diff-id", "--version-id"]
    assert [k.output for k in WAITABLE] == ["update-id", "diff-id", "image-version-id"]
    assert [k.variable for k in WAITABLE] == [
        "CLANFORGE_GATE_UPDATE_ID",
        "CLANFORGE_GATE_DIFF_ID",
        "CLANFORGE_GATE_VERSION_ID",
    ]
    assert not JobKind.FLEET_INSTALL.id_field and all(k.id_field for k in WAITABLE)


@pytest.mark.parametrize("text", ["imageupdate", " ImageDiff ", "IMAGEVERSION"])
def test_parse_takes_the_waitable_kinds(text: str) -> None:
    assert JobKind.parse(text).value == text.strip().lower()


@pytest.mark.parametrize("text", ["imageinstall", "update", "", "image diff"])
def test_parse_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        JobKind.parse(text)


def test_of_names_every_kind_and_known_keeps_a_foreign_name() -> None:
    assert JobKind.of("imageinstall") is JobKind.FLEET_INSTALL
    assert JobKind.of(JobKind.IMAGE_DIFF) is JobKind.IMAGE_DIFF
    assert JobKind.known("imageversion") is JobKind.IMAGE_VERSION
    assert JobKind.known("image:update;x#") == "image:update;x#"
    with pytest.raises(KeyError):
        JobKind.of("update")


def test_the_lock_read_of_a_deploy_is_named_by_its_image() -> None:
    assert JobKind.IMAGE_OPTIONS.label(5) == "image 5 options"
    assert not JobKind.IMAGE_OPTIONS.id_field and JobKind.IMAGE_OPTIONS not in WAITABLE


def test_jobs_of_one_kind_are_named_together_by_their_label_or_counted() -> None:
    assert JobKind.IMAGE_DIFF.labels([22]) == "image diff 22"
    assert JobKind.IMAGE_DIFF.labels([22, 23]) == "2 image diffs"
    assert JobKind.IMAGE_UPDATE.labels(list(range(300))) == "300 image updates"
