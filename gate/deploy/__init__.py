"""``deploy``: the chain of jobs from an image update to a proven fleet install.

``settings`` reads and checks what a deploy needs; ``chain`` runs it; ``calls`` holds each
create's parameters and the plan; ``resume`` the command that picks a cut-short deploy up;
``fleet`` the watch of the fleet install; ``lock`` the image's lock (read, waited on, and the
job of a lost create answer found by it). Nothing in a plain ``wait`` imports this package.
"""

from gate.deploy.calls import describe_call
from gate.deploy.chain import NOTHING_CHANGED, CreateUncertain, Deployer
from gate.deploy.lock import ImageLocked
from gate.deploy.resume import RESUME_SETTINGS, ResumeSetting, deploy_setting_flags, resume_command
from gate.deploy.settings import DeploySettings, load_deploy_settings

__all__ = [
    "NOTHING_CHANGED",
    "RESUME_SETTINGS",
    "CreateUncertain",
    "DeploySettings",
    "Deployer",
    "ImageLocked",
    "ResumeSetting",
    "deploy_setting_flags",
    "describe_call",
    "load_deploy_settings",
    "resume_command",
]
