"""The offline-first resolver's search order, checksums, downloads, and `jtbench weights`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jtbench.cli.app import app
from jtbench.errors import WeightsError
from jtbench.weights.catalog import WEIGHTS, WeightSpec, register_weights
from jtbench.weights.resolve import WeightResolver

CONTENT = b"published checkpoint bytes"
SHA = hashlib.sha256(CONTENT).hexdigest()


def _spec(**kw) -> WeightSpec:
    base = dict(id="test-weight", filename="model.pth", sha256=SHA, vbench_path="test_model/model.pth", licence="MIT")
    base.update(kw)
    return WeightSpec(**base)


def _put(path: Path, content: bytes = CONTENT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Every cache location inside tmp_path; HOME moved so ~/.cache is empty too."""
    roots = {name: tmp_path / name for name in ("jtbench", "vbench", "torch", "hf", "home")}
    monkeypatch.setenv("JTBENCH_CACHE", str(roots["jtbench"]))
    monkeypatch.setenv("VBENCH_CACHE_DIR", str(roots["vbench"]))
    monkeypatch.setenv("TORCH_HOME", str(roots["torch"]))
    monkeypatch.setenv("HF_HOME", str(roots["hf"]))
    monkeypatch.setenv("HOME", str(roots["home"]))
    return roots


def test_resolution_order_explicit_then_jtbench_then_vbench_then_torch(caches, tmp_path):
    spec = _spec()
    places = {
        "explicit": tmp_path / "mine" / "model.pth",
        "jtbench": caches["jtbench"] / "weights" / "test-weight" / "model.pth",
        "vbench": caches["vbench"] / "test_model" / "model.pth",
        "torch": caches["torch"] / "hub" / "checkpoints" / "model.pth",
    }
    resolver = WeightResolver(offline=True, overrides={"test-weight": places["explicit"]})
    assert resolver.find(spec) is None
    for name in reversed(list(places)):  # add the lowest priority first: each new one must win
        _put(places[name])
        assert resolver.find(spec) == places[name], name
        assert resolver.resolve(spec) == places[name]


def test_vbench_default_cache_is_home_dot_cache(caches, monkeypatch):
    monkeypatch.delenv("VBENCH_CACHE_DIR")
    target = _put(caches["home"] / ".cache" / "vbench" / "test_model" / "model.pth")
    assert WeightResolver(offline=True).find(_spec()) == target


def test_env_override_per_weight_id(caches, tmp_path, monkeypatch):
    target = _put(tmp_path / "elsewhere.pth")
    monkeypatch.setenv("JTBENCH_WEIGHTS_TEST_WEIGHT", str(target))
    _put(caches["jtbench"] / "weights" / "test-weight" / "model.pth")
    assert WeightResolver(offline=True).find(_spec()) == target


def test_hf_cache_snapshot_for_folder_weights(caches):
    spec = _spec(id="test-hf", filename="repo", sha256=None, hf_repo="org/model", is_dir=True, vbench_path=None)
    snapshots = caches["hf"] / "hub" / "models--org--model" / "snapshots"
    (snapshots / "aaaa").mkdir(parents=True)
    (snapshots / "bbbb").mkdir(parents=True)
    resolver = WeightResolver(offline=True)
    assert resolver.find(spec) in {snapshots / "aaaa", snapshots / "bbbb"}
    own = caches["jtbench"] / "weights" / "test-hf" / "repo"
    own.mkdir(parents=True)
    assert resolver.find(spec) == own  # jtbench's own cache comes before the HF cache


def test_checksum_mismatch_is_an_error_naming_the_file(caches):
    bad = _put(caches["vbench"] / "test_model" / "model.pth", b"truncated download")
    resolver = WeightResolver(offline=True)
    assert resolver.verify(_spec(), bad) is False
    assert resolver.verify(_spec(sha256=None), bad) is None
    with pytest.raises(WeightsError, match="checksum mismatch") as info:
        resolver.resolve(_spec())
    assert info.value.file == str(bad) and "download" in info.value.fix


def test_offline_missing_says_where_to_put_it(caches):
    spec = _spec(urls=("https://example.invalid/model.pth",))
    with pytest.raises(WeightsError, match="offline mode") as info:
        WeightResolver(offline=True).resolve(spec)
    home = caches["jtbench"] / "weights" / "test-weight" / "model.pth"
    assert str(home) in info.value.fix and "--weights test-weight=PATH" in info.value.fix
    with pytest.raises(WeightsError, match="refusing to download"):
        WeightResolver(offline=True).download(spec)


def test_download_from_file_url_verifies_checksum(caches, tmp_path):
    source = _put(tmp_path / "server" / "model.pth")
    resolver = WeightResolver(offline=False)
    path = resolver.resolve(_spec(urls=(source.as_uri(),)))
    assert path == caches["jtbench"] / "weights" / "test-weight" / "model.pth"
    assert path.read_bytes() == CONTENT
    corrupt = _put(tmp_path / "server" / "corrupt.pth", b"not it")
    with pytest.raises(WeightsError, match="checksum mismatch"):
        resolver.download(_spec(id="other", urls=(corrupt.as_uri(),)))
    assert not (caches["jtbench"] / "weights" / "other" / "model.pth").exists()


# -- the CLI ------------------------------------------------------------------------------------
@pytest.fixture
def registered(caches):
    specs = [
        register_weights(_spec(id="jtbench-test-ok", used_by=("fake_metric",))),
        register_weights(_spec(id="jtbench-test-bad", filename="bad.pth", vbench_path=None)),
        register_weights(
            _spec(id="jtbench-test-missing", filename="gone.pth", vbench_path=None, urls=("https://example.invalid/g",))
        ),
    ]
    _put(caches["vbench"] / "test_model" / "model.pth")
    _put(caches["jtbench"] / "weights" / "jtbench-test-bad" / "bad.pth", b"corrupt")
    yield specs
    for spec in specs:  # leave the process-wide catalog as we found it
        WEIGHTS._entries.pop(spec.id, None)


def _rows(runner: CliRunner, *args: str):
    import json

    result = runner.invoke(app, ["weights", *args, "--format", "json"])
    start = result.stdout.index("[")
    return result, {r["id"]: r for r in json.loads(result.stdout[start:])}


def test_weights_list_and_verify(registered, caches):
    runner = CliRunner()
    result, rows = _rows(runner, "list", "jtbench-test-ok", "jtbench-test-bad", "jtbench-test-missing")
    assert result.exit_code == 0, result.output
    ok, bad, missing = rows["jtbench-test-ok"], rows["jtbench-test-bad"], rows["jtbench-test-missing"]
    assert ok["status"] == "found" and ok["path"] == str(caches["vbench"] / "test_model" / "model.pth")
    assert ok["used_by"] == "fake_metric" and ok["licence"] == "MIT" and ok["sha256"] == "not checked"
    assert missing["status"] == "missing" and missing["path"] == ""
    assert bad["status"] == "found" and bad["sha256"] == "not checked"  # list never hashes
    assert missing["put_it_at"] == str(caches["jtbench"] / "weights" / "jtbench-test-missing" / "gone.pth")

    result, rows = _rows(runner, "verify", "jtbench-test-ok", "jtbench-test-bad", "jtbench-test-missing")
    assert result.exit_code == 1
    assert rows["jtbench-test-ok"]["sha256"] == "ok"
    assert rows["jtbench-test-bad"]["sha256"] == "mismatch"
    assert "jtbench-test-missing: missing" in result.stderr

    result, rows = _rows(runner, "verify", "jtbench-test-ok")
    assert result.exit_code == 0 and rows["jtbench-test-ok"]["sha256"] == "ok"


def test_weights_override_flag_and_download_offline_refuses(registered, tmp_path):
    runner = CliRunner()
    mine = _put(tmp_path / "mine.pth")
    result, rows = _rows(runner, "verify", "jtbench-test-missing", "--weights", f"jtbench-test-missing={mine}")
    assert result.exit_code == 0 and rows["jtbench-test-missing"]["path"] == str(mine)

    result = runner.invoke(app, ["weights", "download", "jtbench-test-missing", "--offline"])
    assert result.exit_code == 1
    assert "no download attempted" in result.stderr and "gone.pth" in result.stderr


def test_weights_unknown_id_suggests(registered):
    result = CliRunner().invoke(app, ["weights", "list", "jtbench-test-okk"])
    assert result.exit_code != 0
    assert "jtbench-test-ok" in str(result.exception)


def test_single_file_found_in_the_hugging_face_cache(tmp_path, monkeypatch):
    """A file fetched by huggingface_hub (e.g. amt-s.pth) lies inside the repo's snapshot folder."""
    from jtbench.weights.catalog import WeightSpec
    from jtbench.weights.resolve import WeightResolver

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = WeightSpec(
        id="x-amt", filename="amt-s.pth", urls=("https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth",)
    )
    snapshot = tmp_path / "hf" / "hub" / "models--lalala125--AMT" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "amt-s.pth").write_bytes(b"weights")
    assert WeightResolver(offline=True, root=tmp_path / "jt").find(spec) == snapshot / "amt-s.pth"
