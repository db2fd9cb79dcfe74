"""The Unity package's layout: what Unity's Package Manager reads, checked without Unity."""

from __future__ import annotations

import json
import re

from .conftest import PACKAGE, ROOT


def test_package_manifest_is_a_valid_upm_package():
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert re.fullmatch(r"com\.[a-z0-9-]+\.[a-z0-9.-]+", manifest["name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert re.fullmatch(r"\d{4}\.\d", manifest["unity"])
    assert manifest["displayName"] and manifest["description"]
    for sample in manifest["samples"]:
        assert (PACKAGE / sample["path"]).is_dir() and sample["path"].split("/")[0].endswith("~")
    for folder in ("Runtime", "Samples~", "Documentation~"):
        assert (PACKAGE / folder).is_dir()
    assert (PACKAGE / "README.md").is_file()


def test_core_assembly_cannot_see_unityengine():
    """Cadenza.Core is engine-agnostic: its asmdef forbids engine references and no source
    uses UnityEngine (the build also compiles it with no UnityEngine at all)."""
    core = json.loads((PACKAGE / "Runtime" / "Core" / "Cadenza.Core.asmdef").read_text())
    glue = json.loads((PACKAGE / "Runtime" / "Unity" / "Cadenza.Unity.asmdef").read_text())
    assert core["noEngineReferences"] is True and core["references"] == []
    assert glue["references"] == [core["name"]]
    for source in (PACKAGE / "Runtime" / "Core").glob("*.cs"):
        assert not re.search(r"using UnityEngine|UnityEngine\.", source.read_text()), source.name


def test_every_asset_has_a_meta_file_with_a_unique_guid():
    """Unity ignores files without .meta in an immutable (git or registry) package. Folders
    ending in ~ are hidden from Unity and need none."""
    guids: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if any(part.endswith("~") or part.startswith(".") for part in rel.parts) or path.suffix == ".meta":
            continue
        meta = path.with_name(path.name + ".meta")
        assert meta.is_file(), f"{rel} has no {meta.name} (copy a sibling's .meta with a new guid)"
        guid = re.search(r"^guid: ([0-9a-f]{32})$", meta.read_text(), re.M)
        assert guid, f"{meta.name} has no guid"
        assert guid.group(1) not in guids, f"{rel} and {guids.get(guid.group(1))} share a guid"
        guids[guid.group(1)] = str(rel)
    for meta in PACKAGE.rglob("*.meta"):
        assert meta.with_name(meta.name[:-5]).exists(), f"orphan {meta.relative_to(PACKAGE)}"


def test_sample_project_uses_the_package_from_this_checkout():
    manifest = json.loads((ROOT / "samples" / "unity" / "Packages" / "manifest.json").read_text())
    location = manifest["dependencies"]["com.cadenza.music"]
    assert location.startswith("file:")
    target = (ROOT / "samples" / "unity" / "Packages" / location[len("file:"):]).resolve()
    assert target == PACKAGE.resolve()
