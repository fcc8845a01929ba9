"""The calls of a deploy: each create's parameters, how a call is shown, and the plan of them all.

Pure: nothing here sends anything. ``plan`` lists what a deploy would send (``check`` and the
result show it); the chain in ``gate.deploy.chain`` sends the same calls one by one.
"""

from __future__ import annotations

from collections.abc import Mapping

from gate.config import Settings
from gate.deploy.choices import InstallMode, OnLocked
from gate.deploy.settings import DeploySettings
from gate.deploy.source_url import encode_source_url, mask_source_url
from gate.kinds import JobKind
from gate.result import Call

# ``reinstall`` of a diff reject: 0, so rejecting restarts nothing.
REJECT_REINSTALL = "0"
# The account's unfinished install jobs, one of the fleet install's two readings.
INSTALL_STATUS_PATH = f"/cfp/v1/{JobKind.FLEET_INSTALL.value}/status"
# The image's options, where its lock shows (needs the game id).
IMAGE_OPTIONS_PATH = "/cfp/v1/image/options"


def describe_call(path: str, params: Mapping[str, str]) -> str:
    """``GET <path>?<params>`` for the result and the plan, the source URL's credentials masked."""
    shown = {k: mask_source_url(v) if k == "url" else v for k, v in params.items()}
    query = "&".join(f"{k}={v}" for k, v in shown.items())
    return f"GET {path}" + (f"?{query}" if query else "")


def reject_path(diff: object) -> str:
    """The reject endpoint of one image diff."""
    return f"/cfp/v1/{JobKind.IMAGE_DIFF.value}/{diff}/reject"


def update_params(d: DeploySettings) -> dict[str, str]:
    """The parameters of the image update create."""
    params = {"imageid": str(d.image_id), "machineid": str(d.machine_id), "desc": d.desc or ""}
    if d.url:
        params["url"] = encode_source_url(d.url)
    return params


def diff_params(d: DeploySettings) -> dict[str, str]:
    """The parameters of the image diff create."""
    return {"imageid": str(d.image_id), "machineid": str(d.machine_id)}


def version_params(
    d: DeploySettings, diff: int | str | None, *, now: float, publish_full: bool = False
) -> dict[str, str]:
    """The parameters of the image version create of ``diff``, made at ``now`` (unix time)."""
    params = {"diffid": str(diff), "restart": "1" if d.restart else "0"}
    if d.game_build:
        params["game_build"] = d.game_build
    if d.full or publish_full:
        params["full"] = "1"
    if d.force:
        params["force"] = "1"
    install_at = d.install_at.param(now)
    if install_at is not None:
        params["install_at"] = install_at
    if d.disable_timeout_minutes is not None:
        params["disable_timeout"] = str(d.disable_timeout_minutes)
    if d.disable_percentage is not None:
        params["disable_percentage"] = str(d.disable_percentage)
    return params


def creates_something(d: DeploySettings) -> bool:
    """Whether the deploy creates an update or a diff (and so must first read the image's lock)."""
    return (d.update_id is None and not d.skip_update) or (d.diff_id is None and not d.skip_diff)


def plan(d: DeploySettings, settings: Settings, now: float) -> list[Call]:
    """Every call this deploy would send, in order, with its parameters; nothing is sent."""
    calls = _lock_calls(d)
    if d.update_id is None and not d.skip_update:
        calls.append(
            Call(describe_call(JobKind.IMAGE_UPDATE.create_path(), update_params(d)), "create, once")
        )
    if d.diff_id is None and not d.skip_diff:
        calls.append(Call(describe_call(JobKind.IMAGE_DIFF.create_path(), diff_params(d)), "create, once"))
    if d.version_id is None and not d.skip_version:
        calls += _version_calls(d, now)
    return calls + _install_calls(d, settings)


def _lock_calls(d: DeploySettings) -> list[Call]:
    """The read of the image's lock before anything is created, and the reject it may lead to."""
    if not creates_something(d) or d.game_id is None:
        return []
    calls = [
        Call(
            describe_call(IMAGE_OPTIONS_PATH, {"gameid": str(d.game_id), "imageid": str(d.image_id)}),
            "read: the image's lock, before anything is created",
        )
    ]
    if d.on_locked is OnLocked.REJECT:
        calls.append(
            Call(
                describe_call(reject_path("<locking diff>"), {"reinstall": REJECT_REINSTALL}),
                "only if a diff locks the image (--on-locked reject)",
            )
        )
    return calls


def _version_calls(d: DeploySettings, now: float) -> list[Call]:
    """The diff's info read, the reject of an empty diff, and the version create."""
    diff = "<new diff id>" if d.diff_id is None else str(d.diff_id)
    params = {**version_params(d, d.diff_id, now=now), "diffid": diff}
    if "install_at" in params and d.install_at.mode is InstallMode.NOW:
        params["install_at"] = "<unix time of the create>"
    return [
        Call(
            describe_call(f"/cfp/v1/{JobKind.IMAGE_DIFF.value}/{diff}/status", {"diff_info": "1"}),
            "read: did it change anything",
        ),
        Call(
            describe_call(reject_path(diff), {"reinstall": REJECT_REINSTALL}),
            "only if the diff changes nothing (--on-empty-diff reject, the default)",
        ),
        Call(describe_call(JobKind.IMAGE_VERSION.create_path(), params), "create, once"),
    ]


def _install_calls(d: DeploySettings, settings: Settings) -> list[Call]:
    """The watch of the fleet install, or the note that it is left manual."""
    if d.watches_install:
        asid = settings.account_service_id or "<account service id>"
        version = "<new version id>" if d.version_id is None else str(d.version_id)
        return [
            Call(
                describe_call(image_status_path(asid, d.image_id), {})
                + f" and GET {INSTALL_STATUS_PATH} (target_imageversionid {version})",
                "read, until the install is proven",
            )
        ]
    if d.install_at.mode is InstallMode.MANUAL and not d.skip_install:
        return [Call("(no install watch)", "install left manual (--install-at manual)")]
    return []


def image_status_path(account_service_id: object, image_id: object) -> str:
    """The image status of one image: the fleet's counts of its install."""
    return f"/cfp/v2/project/{account_service_id}/image/{image_id}/status"
