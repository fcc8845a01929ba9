"""The kinds of job the gate follows, and everything that differs between them.

Pure: one enum, no I/O. Every table that used to be keyed by a kind's name is an attribute here,
so adding a kind, or renaming how one is shown, is a change in one place.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class JobKind(str, enum.Enum):
    """A kind of Clanforge job. The value is the API's path segment (``imageupdate``...)."""

    # Set in __new__ from each member's tuple.
    noun: str
    id_field: str
    resume_flag: str
    output: str
    variable: str

    def __new__(
        cls, value: str, noun: str, id_field: str, resume_flag: str, output: str, variable: str
    ) -> JobKind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.noun = noun
        member.id_field = id_field
        member.resume_flag = resume_flag
        member.output = output
        member.variable = variable
        return member

    # value, noun, id field in an answer, resume flag, GitHub output, GitLab dotenv variable
    IMAGE_UPDATE = (
        "imageupdate",
        "image update",
        "updateid",
        "--update-id",
        "update-id",
        "CLANFORGE_GATE_UPDATE_ID",
    )
    IMAGE_DIFF = ("imagediff", "image diff", "diffid", "--diff-id", "diff-id", "CLANFORGE_GATE_DIFF_ID")
    IMAGE_VERSION = (
        "imageversion",
        "image version",
        "imageversionid",
        "--version-id",
        "image-version-id",
        "CLANFORGE_GATE_VERSION_ID",
    )
    # The fleet install of an image: no job id of its own (it is named by the image) and no
    # create call; it is watched through the image status and the account's install jobs.
    FLEET_INSTALL = ("imageinstall", "fleet install", "", "", "", "")
    # The read of an image's lock before a deploy creates anything: not a job, but a step of the
    # deploy that the deadline can cut short, listed in its result under this name.
    IMAGE_OPTIONS = ("imageoptions", "image options", "", "", "", "")

    def __str__(self) -> str:
        return str.__str__(self)

    def label(self, job_id: int | None) -> str:
        """The one way a job is named, in messages and reports alike: ``image diff 55``."""
        if self is JobKind.FLEET_INSTALL:
            return "fleet install" if job_id is None else f"image {job_id} install"
        if self is JobKind.IMAGE_OPTIONS:
            return "image options" if job_id is None else f"image {job_id} options"
        return self.noun if job_id is None else f"{self.noun} {job_id}"

    def labels(self, job_ids: Sequence[int]) -> str:
        """Jobs of this kind named together: one by its label, several counted (``3 image diffs``)."""
        return self.label(job_ids[0]) if len(job_ids) == 1 else f"{len(job_ids)} {self.noun}s"

    def status_path(self, job_id: int) -> str:
        """The status endpoint of one job of this kind."""
        return f"/cfp/v1/{self.value}/{job_id}/status"

    def create_path(self) -> str:
        """The create endpoint of this kind (a GET that starts a job: never retried)."""
        return f"/cfp/v1/{self.value}/create"

    @classmethod
    def of(cls, kind: str) -> JobKind:
        """The kind of any API name (``imageinstall`` too); the kind itself when given one."""
        return cls._value2member_map_[str.__str__(kind)]  # type: ignore[return-value]

    @classmethod
    def known(cls, kind: str) -> JobKind | str:
        """The kind of an API name the gate knows; any other name unchanged."""
        found = cls._value2member_map_.get(str.__str__(kind))
        return found if isinstance(found, JobKind) else kind

    @classmethod
    def parse(cls, text: str) -> JobKind:
        """A kind from its API name, as ``--job`` takes it; ValueError for anything else."""
        wanted = text.strip().lower()
        for kind in WAITABLE:
            if kind.value == wanted:
                return kind
        raise ValueError(text)


class RunCommand(str, enum.Enum):
    """A run that is not a wait on jobs of one kind has a kind of its own: the command that made it."""

    DEPLOY = "deploy"
    CHECK = "check"

    def __str__(self) -> str:
        return str.__str__(self)


# What a run is of: the kind of the jobs it waited on, or the command that made it. The result
# file's ``job_kind`` is its value.
RunKind = JobKind | RunCommand


def run_kind(name: str) -> RunKind:
    """The run kind of a name (``deploy``, ``imagediff``); a name the gate does not know (a
    hand-made result) is kept as given, as ``JobKind.known`` keeps it."""
    if isinstance(name, (JobKind, RunCommand)):
        return name
    found = RunCommand._value2member_map_.get(str(name))
    if isinstance(found, RunCommand):
        return found
    return JobKind.known(name)  # type: ignore[return-value]


# The kinds a deploy creates, in the order it creates them; the kinds ``wait --job`` accepts.
WAITABLE: tuple[JobKind, ...] = (JobKind.IMAGE_UPDATE, JobKind.IMAGE_DIFF, JobKind.IMAGE_VERSION)
