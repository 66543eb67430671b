"""A tiny, deterministic OCI image layout writer for the benchmarks (stdlib only).

`write_layout(dir, tag, layer_sizes, seed)` writes `oci-layout`, `index.json` and `blobs/sha256/*` for one image:
an OCI manifest, a config and one gzip layer per entry of `layer_sizes`, each a tar holding one file of that many
pseudo-random bytes (seeded, so the same arguments always give the same digests). Random bytes do not compress,
so a layer blob is a little larger than its payload, as real pushes of compressed layers are.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def render(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Image:
    layout: Path
    tag: str
    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @property
    def reference(self) -> str:
        """The skopeo source for this image."""
        return f"oci:{self.layout}:{self.tag}"

    @property
    def total_bytes(self) -> int:
        return self.manifest.size + self.config.size + sum(layer.size for layer in self.layers)


def _canonical(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _put_blob(layout: Path, media_type: str, content: bytes) -> Descriptor:
    digest = hashlib.sha256(content).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    if not path.exists():
        path.write_bytes(content)
    return Descriptor(media_type, f"sha256:{digest}", len(content))


def _layer_tar(name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 0
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def write_layout(layout: Path, tag: str, layer_sizes: list[int], seed: int) -> Image:
    """Write (or add to) an OCI layout at `layout` holding one image tagged `tag`."""
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    rng = random.Random(seed)
    layers: list[Descriptor] = []
    diff_ids: list[str] = []
    for index, size in enumerate(layer_sizes):
        tar = _layer_tar(f"data/layer-{seed}-{index}.bin", rng.randbytes(size))
        diff_ids.append(f"sha256:{hashlib.sha256(tar).hexdigest()}")
        # mtime=0 and a fixed level keep the gzip stream, and so the digest, reproducible.
        layers.append(_put_blob(layout, OCI_LAYER_GZIP, gzip.compress(tar, compresslevel=1, mtime=0)))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Labels": {"dockyard.benchmark.seed": str(seed)}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "benchmarks/oci_layout.py"}],
    }
    config_desc = _put_blob(layout, OCI_CONFIG, _canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_desc.render(),
        "layers": [layer.render() for layer in layers],
    }
    manifest_desc = _put_blob(layout, OCI_MANIFEST, _canonical(manifest))
    index_path = layout / "index.json"
    entries = []
    if index_path.exists():
        entries = [
            entry
            for entry in json.loads(index_path.read_text()).get("manifests", [])
            if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag
        ]
    entries.append({**manifest_desc.render(), "annotations": {"org.opencontainers.image.ref.name": tag}})
    index_path.write_text(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, indent=1))
    return Image(layout, tag, manifest_desc, config_desc, tuple(layers))
