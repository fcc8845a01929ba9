"""``deploy``: the chain of jobs from an image update to a proven fleet install.

``settings`` reads and checks what a deploy needs; ``chain`` runs it; ``calls`` holds each
create's parameters and the plan; ``resume`` the command that picks a cut-short deploy up;
``fleet`` the watch of the fleet install. The pure parts the core also reads: ``choices`` (install
time, empty diffs, locks), ``image_state`` (a diff's changes, an image's lock), ``fleet_state``
(the fleet install's evidence) and ``source_url`` (a deploy's source URL encoded and masked).

The package itself imports nothing, so the core can read its pure modules without loading the
chain; nothing in a plain ``wait`` imports the chain.
"""
