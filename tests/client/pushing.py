"""Pushing test images to a running Dockyard over plain HTTP (Basic credentials on every request), for the SDK
and CLI end-to-end tests: quicker than a registry client, and enough to give the Hub tags and images to show."""

from __future__ import annotations

import httpx

from tests.support.layout import Image, ImageLayout


def push(
    base_url: str, username: str, password: str, repository: str, tag: str, layout: ImageLayout, image: Image
) -> None:
    with httpx.Client(base_url=base_url, auth=(username, password), timeout=60) as http:
        for digest in image.blob_digests:
            if http.head(f"/v2/{repository}/blobs/{digest}").status_code == 200:
                continue
            started = http.post(f"/v2/{repository}/blobs/uploads/")
            assert started.status_code == 202, started.text
            done = http.put(
                started.headers["location"],
                params={"digest": digest},
                content=layout.blob(digest),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert done.status_code == 201, done.text
        stored = http.put(
            f"/v2/{repository}/manifests/{tag}",
            content=image.manifest_bytes,
            headers={"Content-Type": image.manifest.media_type},
        )
        assert stored.status_code == 201, stored.text
