"""The offline-first resolver's search order, checksums, downloads, and `jtbench weights`."""

from __future__ import annotations

import hashlib
import json
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


# -- archives and the lock file -------------------------------------------------------------------
def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def zip_server():
    """A loopback HTTP server; ``served[path] = bytes`` sets what it answers."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def test_zip_member_download_is_extracted_and_locked(caches, zip_server):
    from jtbench.weights.lock import LOCK_NAME

    base, served = zip_server
    served["/models.zip"] = _zip({"models/raft-things.pth": CONTENT, "models/raft-small.pth": b"other"})
    spec = _spec(id="test-raft", filename="raft-things.pth", sha256=None, vbench_path=None,
                 urls=(f"{base}/models.zip",), archive_member="models/raft-things.pth")  # fmt: skip
    resolver = WeightResolver(offline=False)
    path = resolver.resolve(spec)
    home = caches["jtbench"] / "weights" / "test-raft"
    assert path == home / "raft-things.pth" and path.read_bytes() == CONTENT
    assert sorted(p.name for p in home.iterdir()) == ["raft-things.pth"], "the archive is not kept"
    lock = json.loads((caches["jtbench"] / "weights" / LOCK_NAME).read_text())["weights"]
    assert lock["test-raft"]["sha256"] == SHA and lock["test-raft"]["source"] == f"{base}/models.zip"
    assert resolver.verify(spec, path) is True and resolver.expected_digests(spec) == {"lock": SHA}

    path.write_bytes(b"replaced later")  # a file changed after its first download
    assert resolver.verify(spec, path) is False
    with pytest.raises(WeightsError, match="checksum mismatch") as info:
        resolver.resolve(spec)
    assert f"{SHA} (lock)" in str(info.value)

    path.unlink()  # the publisher's archive changed since: the second download must not pass
    served["/models.zip"] = _zip({"models/raft-things.pth": b"new bytes"})
    with pytest.raises(WeightsError, match="first download recorded"):
        resolver.download(spec)
    assert not path.exists() and not list(home.glob("*.part*")), "nothing half-written is left"


def test_missing_archive_member_is_a_download_error(caches, zip_server):
    base, served = zip_server
    served["/models.zip"] = _zip({"models/other.pth": b"x"})
    spec = _spec(id="test-zip", sha256=None, vbench_path=None, urls=(f"{base}/models.zip",), archive_member="m.pth")
    with pytest.raises(WeightsError, match="could not download test-zip"):
        WeightResolver(offline=False).download(spec)
    assert not list((caches["jtbench"] / "weights" / "test-zip").iterdir())


def test_every_metric_weight_has_a_download_route():
    from jtbench.cli.weights import _source, load_catalog
    from jtbench.metrics.base import PAPER_METRICS

    specs, problems = load_catalog()
    assert problems == []
    needed = [s for s in specs if set(s.used_by) & set(PAPER_METRICS)]
    assert {u for s in needed for u in s.used_by} == set(PAPER_METRICS), "every metric names its weights"
    assert [s.id for s in needed if _source(s) == "by hand"] == []
    raft = WEIGHTS.get("raft-things")
    assert raft.urls[0].endswith("/models.zip") and raft.archive_member == "models/raft-things.pth"


def test_weights_download_fetches_raft_from_its_zip(caches, monkeypatch):
    """`jtbench weights download raft-things` against RAFT's address, served by a fake urlopen."""
    import io

    from jtbench.weights import resolve

    archive = _zip({"models/raft-things.pth": CONTENT})
    asked = []

    def fake_urlopen(url, timeout=None):
        asked.append(url)
        return io.BytesIO(archive)

    monkeypatch.setattr(resolve.urllib.request, "urlopen", fake_urlopen)
    runner = CliRunner()
    result = runner.invoke(app, ["weights", "download", "raft-things"])
    assert result.exit_code == 0, result.output
    assert asked == ["https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip"]
    path = caches["jtbench"] / "weights" / "raft-things" / "raft-things.pth"
    assert path.read_bytes() == CONTENT
    result, rows = _rows(runner, "verify", "raft-things")
    assert result.exit_code == 0 and rows["raft-things"]["sha256"] == "ok"
    assert rows["raft-things"]["checked_against"] == "lock"
    again = runner.invoke(app, ["weights", "download", "raft-things"])
    assert again.output.strip() == "all selected weights are present"
