from __future__ import annotations

import pytest
from fresh_python import run_python

from jtbench.errors import UnknownNameError
from jtbench.registry import Registry


def test_register_get_alias_and_names():
    reg: Registry[object] = Registry("widget")

    @reg.register("alpha", aliases=("A",))
    class Alpha:
        pass

    assert reg.get("alpha") is Alpha and reg.get("A") is Alpha
    assert reg.names() == ["alpha"] and "A" in reg and len(reg) == 1


def test_lazy_target_resolves_on_first_get():
    reg: Registry[object] = Registry("thing")
    reg.add("dumps", "json:dumps")
    import json

    assert reg.get("dumps") is json.dumps


def test_did_you_mean():
    reg: Registry[object] = Registry("metric")
    reg.add("clip_t", object())
    with pytest.raises(UnknownNameError) as err:
        reg.get("clip-t")
    assert "did you mean clip_t" in str(err.value)


def test_duplicate_registration_refused():
    reg: Registry[object] = Registry("metric")
    reg.add("x", 1)
    with pytest.raises(ValueError):
        reg.add("x", 2)


def test_entry_points_are_listed(monkeypatch):
    import jtbench.registry as registry_module

    class EP:
        name, value = "thirdparty", "json:loads"

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [EP()] if group == "jtbench.methods" else [])
    reg: Registry[object] = Registry("method", "jtbench.methods")
    import json

    assert "thirdparty" in reg.names() and reg.get("thirdparty") is json.loads


def test_builtin_backbones_resolve_lazily_by_name():
    """A backbone resolves by name without its module having been imported first."""
    code = (
        "from jtbench.models.base import BACKBONES; "
        "cls = BACKBONES.get('lk_tracker'); "
        "print(cls.name, sorted(BACKBONES.names()) == sorted(set(BACKBONES.names())))"
    )
    assert run_python(code).split() == ["lk_tracker", "True"]
