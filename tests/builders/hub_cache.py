"""A model in the Hugging Face cache layout, as a download leaves it, without any download.

hub/models--org--name/ holds blobs/<sha256> (the file contents), snapshots/<revision>/ (the
model's file names, each a relative link to its blob) and refs/main (the revision).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

REVISION = "0123456789abcdef0123456789abcdef01234567"


def cache_model(model: Path, hf_home: Path, repo_id: str) -> Path:
    """Put `model`'s files in the cache under HF_HOME as `repo_id`; returns the snapshot folder."""
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    if repo.exists():
        shutil.rmtree(repo)
    blobs, snapshot = repo / "blobs", repo / "snapshots" / REVISION
    blobs.mkdir(parents=True)
    for source in sorted(p for p in model.rglob("*") if p.is_file()):
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        shutil.copyfile(source, blobs / digest)
        link = snapshot / source.relative_to(model)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blobs / digest, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot
