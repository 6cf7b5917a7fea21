"""Attachments end to end in `make run`: the form the API hands out uploads to the local S3,
which refuses what AWS would refuse (another size, another type); the confirmed file is listed
and downloads through its fresh URL."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.local.test_stack_process import _free_port, _running_stack, _tokens


def test_an_upload_is_refused_unless_it_fits_its_slot_then_confirmed_listed_and_downloaded(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    arguments = ["--port", str(_free_port()), "--moto-port", str(_free_port()), "--fresh", "--no-demo"]
    s3 = requests.Session()
    s3.trust_env = False  # a developer's proxy must not see the local servers
    with _running_stack([*arguments, "--state-dir", str(state_dir)]) as api:
        admin = _tokens(state_dir)["TOKEN_ADMIN"]
        status, ticket = api.call("POST", "/v1/tickets", admin, {"subject": "VPN", "description": "log attached"})
        assert status == 201
        base = f"/v1/tickets/{ticket['id']}"
        status, slot = api.call(
            "POST", f"{base}/attachments", admin, {"filename": "vpn.txt", "content_type": "text/plain", "size": 10}
        )
        assert status == 201, slot

        def upload(data: bytes, **changes: str) -> requests.Response:
            fields = {**slot["upload_fields"], **changes}
            return s3.post(slot["upload_url"], data=fields, files={"file": ("vpn.txt", data)}, timeout=10)

        assert upload(b"x" * 600_000).status_code == 400
        assert upload(b"0123456789", **{"Content-Type": "text/html"}).status_code == 403
        assert api.call("POST", f"{base}/attachments/{slot['id']}/confirm", admin)[0] == 409  # nothing stored
        assert upload(b"0123456789").status_code == 204
        status, confirmed = api.call("POST", f"{base}/attachments/{slot['id']}/confirm", admin)
        assert status == 200 and confirmed["uploaded_at"], confirmed

        status, listed = api.call("GET", f"{base}/attachments", admin)
        assert status == 200
        assert [(i["id"], i["size"]) for i in listed["items"]] == [(slot["id"], 10)]
        downloaded = s3.get(listed["items"][0]["download_url"], timeout=10)
        assert downloaded.status_code == 200 and downloaded.content == b"0123456789"
