"""Writes the API reference's pages (``docs/api/generated/``) from the package at build time.

Every public module of ``edgequant`` (no part of its dotted name starts with ``_``) gets a page
with its docstring. A module that declares ``__all__`` also documents each exported name — once,
at its canonical place: the shallowest exporting module other than the top-level package (so
``Engine`` lives at :py:class:`edgequant.engine.Engine`, not three times); other exporters link
to it. Generating the pages at build time means a new module or a new export cannot be missing
from the reference, and the counts (``api_counts.json``) say how complete it is.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pathlib
import pkgutil

PACKAGE = "edgequant"


def public_modules(package_name: str = PACKAGE) -> dict[str, object]:
    """Import every public module of the package; returns ``{dotted name: module}`` in name order."""
    package = importlib.import_module(package_name)
    modules = {package_name: package}
    for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
        parts = info.name.split(".")[1:]
        if any(part.startswith("_") for part in parts):
            continue
        modules[info.name] = importlib.import_module(info.name)  # torch's modules too: the docs need torch
    return dict(sorted(modules.items()))


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def canonical_places(modules: dict[str, object]) -> dict[int, tuple[str, str]]:
    """``{id(object): (module, name)}``: where each exported object is documented in full."""
    exporters: dict[int, list[tuple[str, str]]] = {}
    for module_name, module in modules.items():
        for name in getattr(module, "__all__", []):
            if name == "__version__":
                continue
            obj = getattr(module, name)
            # one documentation per object; plain values (strings, tuples) are per exporter
            key = id(obj) if _kind(obj) != "data" else hash((module_name, name))
            exporters.setdefault(key, []).append((module_name, name))
    places = {}
    for key, where in exporters.items():
        outside_top = [w for w in where if w[0] != PACKAGE] or where
        places[key] = min(outside_top, key=lambda w: (w[0].count("."), w[0]))
    return places


def _attribute_comment(module_name: str, name: str) -> list[str]:
    """The ``#:`` comment above ``name = ...`` in the module's source, as autodoc reads it."""
    from sphinx.pycode import ModuleAnalyzer

    try:
        return list(ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", name), []))
    except Exception:  # no source (compiled module)
        return []


def _directive(kind: str, target: str, obj=None) -> list[str]:
    if kind == "class" and not (obj.__doc__ or "").strip():  # a compiled class (pybind11 exception)
        module_name, name = target.rsplit(".", 1)
        directive = "exception" if issubclass(obj, BaseException) else "class"
        body = ["   " + line if line else "" for line in _attribute_comment(module_name, name)]
        return [f".. py:{directive}:: {name}", f"   :module: {module_name}", "", *body, ""]
    if kind == "class":
        return [f".. autoclass:: {target}", "   :members:", "   :show-inheritance:", ""]
    if kind == "function":
        return [f".. autofunction:: {target}", ""]
    module_name, name = target.rsplit(".", 1)
    lines = [f".. py:data:: {name}", f"   :module: {module_name}"]
    value = repr(obj)
    if len(value) <= 100 and "\n" not in value:
        lines.append(f"   :value: {value}")
    body = ["   " + line if line else "" for line in data_comment(module_name, name, obj)]
    return [*lines, "", *body, ""]


def data_comment(module_name: str, name: str, obj) -> list[str]:
    """The ``#:`` comment of a constant: in the exporting module, else where it is defined under that name."""
    import sys

    comment = _attribute_comment(module_name, name)
    if comment:
        return comment
    for other_name, other in sorted(sys.modules.items()):
        if other_name.startswith(PACKAGE + ".") and getattr(other, "__dict__", {}).get(name, None) is obj:
            comment = _attribute_comment(other_name, name)
            if comment:
                return comment
    return []


def module_page(module_name: str, module, modules, places) -> tuple[str, int, int]:
    """The reST page of one module; returns (text, names exported, names documented here or linked)."""
    title = f"``{module_name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {module_name}", "   :no-members:"]
    shadowed = f"{module_name}" in {f"{m}.{n}" for m, n in places.values()}
    if shadowed:  # e.g. the function datasets.model_data shadows the module datasets.model_data
        lines += ["   :no-index:", "", f"(The name ``{module_name}`` refers to the function or class this module "
                  f"defines: :py:obj:`{module_name}`.)"]
    lines.append("")
    exported = [n for n in getattr(module, "__all__", []) if n != "__version__"]
    documented = 0
    if exported:
        lines += ["Exported names", "--------------", ""]
        for name in exported:
            obj = getattr(module, name)
            kind = _kind(obj)
            key = id(obj) if kind != "data" else hash((module_name, name))
            home_module, home_name = places[key]
            if (home_module, home_name) == (module_name, name):
                lines += _directive(kind, f"{module_name}.{name}", obj)
            else:
                role = {"class": "class", "function": "func", "data": "data"}[kind]
                lines += [f"- ``{name}``: :py:{role}:`{home_module}.{home_name}`", ""]
            documented += 1
    children = [m for m in modules if m.startswith(module_name + ".") and m.count(".") == module_name.count(".") + 1]
    if children:
        lines += ["Submodules", "----------", "", ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {child}" for child in children]
        lines.append("")
    return "\n".join(lines), len(exported), documented


def write_pages(out_dir: pathlib.Path) -> dict:
    """Write one page per public module into ``out_dir``; returns the counts."""
    modules = public_modules()
    places = canonical_places(modules)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"modules": len(modules), "modules_with_all": 0, "exported_names": 0, "documented_names": 0}
    for module_name, module in modules.items():
        text, exported, documented = module_page(module_name, module, modules, places)
        counts["modules_with_all"] += hasattr(module, "__all__")
        counts["exported_names"] += exported
        counts["documented_names"] += documented
        page = out_dir / f"{module_name}.rst"
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
    for stale in set(out_dir.glob("*.rst")) - {out_dir / f"{name}.rst" for name in modules}:
        stale.unlink()
    counts["objects_documented_in_full"] = len(places)
    (out_dir / "api_counts.json").write_text(json.dumps(counts, indent=1) + "\n")
    summary = (f"This build: {counts['modules']} public modules, {counts['modules_with_all']} of them with "
               f"``__all__``; {counts['exported_names']} exported names, {counts['documented_names']} on these "
               f"pages ({counts['objects_documented_in_full']} described in full, the rest re-exports linked to "
               "them). An exported name without a docstring fails the build.\n")
    counts_page = out_dir / "counts.inc"
    if not counts_page.exists() or counts_page.read_text() != summary:
        counts_page.write_text(summary)
    return counts


def aliases(modules, places) -> dict[str, str]:
    """``{any public dotted name of a documented object: the name it is documented under}``.

    An object is reachable as ``<defining module>.<qualname>`` and as ``<exporter>.<name>`` for each
    module that exports it; docstrings cross-reference it by any of these (often relative to their own
    module), while the site describes it once.
    """
    names = {}
    for module_name, module in modules.items():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            kind = _kind(obj)
            key = id(obj) if kind != "data" else hash((module_name, name))
            if key not in places:
                continue
            home = ".".join(places[key])
            names[f"{module_name}.{name}"] = home
            qualname = getattr(obj, "__qualname__", None)
            if kind != "data" and qualname and getattr(obj, "__module__", None):
                names.setdefault(f"{obj.__module__}.{qualname}", home)
    return names


def undocumented(modules, places) -> list[str]:
    """Exported names documented nowhere: no docstring, and (for a compiled class) no ``#:`` comment."""
    missing = []
    for module_name, name in places.values():
        obj = getattr(modules[module_name], name)
        kind = _kind(obj)
        if kind == "data":
            has_doc = bool(data_comment(module_name, name, obj))
        else:
            has_doc = bool((obj.__doc__ or "").strip()) or bool(_attribute_comment(module_name, name))
        if not has_doc:
            missing.append(f"{module_name}.{name}")
    return missing


_STATE: dict = {}


def _on_builder_inited(app):
    from sphinx.util import logging

    counts = write_pages(pathlib.Path(app.srcdir) / "api" / "generated")
    print(f"[api_pages] {counts}")
    modules = public_modules()
    places = canonical_places(modules)
    _STATE["aliases"] = aliases(modules, places)
    _STATE["modules"] = modules
    for name in undocumented(modules, places):
        logging.getLogger(__name__).warning(f"[api_pages] {name} is exported (__all__) but has no docstring")
    _exclude_class_valued_attributes(app, modules, places)


def _exclude_class_valued_attributes(app, modules, places):
    """Keep numpydoc from validating ``Holder.attribute = SomeClass`` as if it were SomeClass.

    For such an attribute numpydoc checks SomeClass's signature against the attribute's own ``#:``
    comment (which documents no parameters), so every such alias would fail PR01; SomeClass itself is
    validated where it is documented.
    """
    import re

    names = []
    for module_name, name in places.values():
        obj = getattr(modules[module_name], name)
        if inspect.isclass(obj):
            names += [f"{module_name}.{name}.{attr}" for attr, value in vars(obj).items()
                      if not attr.startswith("_") and inspect.isclass(value)]
    if not names:
        return
    patterns = [re.escape(name) + "$" for name in names]
    previous = app.config.numpydoc_validation_excluder
    if previous is not None:
        patterns.append(previous.pattern)
    app.config.numpydoc_validation_excluder = re.compile("|".join(patterns))


def _candidates(target: str, context_module: str | None) -> list[str]:
    """Absolute names a reference ``target`` written in ``context_module``'s docstrings may mean."""
    target = target.lstrip(".~")
    out = [target]
    module = context_module or ""
    while module:
        out.append(f"{module}.{target}")
        module = module.rpartition(".")[0]
    return out


def _lookup(dotted: str):
    """The object a public dotted name denotes (module attribute chain), or raise AttributeError."""
    modules = _STATE["modules"]
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in modules:
            obj = modules[head]
            for attribute in parts[cut:]:
                fields = getattr(obj, "__dataclass_fields__", {})
                if not hasattr(obj, attribute) and attribute in fields:  # a dataclass field without default
                    return fields[attribute]
                obj = getattr(obj, attribute)
            return obj
    raise AttributeError(dotted)


def _resolve(target: str, context_module: str | None, documented) -> tuple[str, str | None] | None:
    """Where a reference that Sphinx could not resolve points, if the object exists.

    Returns (documented name, None) — the object itself, or the nearest documented object holding it
    (a class for an undocumented attribute) — or (module, name) for a public object defined in a documented
    module but exported by none (linked to its module's page); None when no such object exists, which
    leaves the warning (and the build failure) in place.
    """
    alias_map, modules = _STATE["aliases"], _STATE["modules"]
    candidates = _candidates(target, context_module)
    package = context_module or PACKAGE
    while package and package not in modules:
        package = package.rpartition(".")[0]
    # the docstring may be written relative to the module that defines the object (documented higher up)
    nested = [f"{m}.{target}" for m in modules if m.startswith(package + ".")]
    for candidate in candidates + nested:
        try:
            _lookup(candidate)
        except AttributeError:
            continue
        parts = candidate.split(".")
        for cut in range(len(parts), 0, -1):
            head, rest = ".".join(parts[:cut]), parts[cut:]
            if head in alias_map:
                home = alias_map[head].split(".")
                for keep in range(len(rest), -1, -1):  # the attribute, else its documented holder
                    name = ".".join(home + rest[:keep])
                    if documented(name):
                        return name, None
                break
            if head in modules:
                return head, ".".join(rest)
    return None


def _on_missing_reference(app, env, node, contnode):
    from sphinx.util.nodes import make_refnode

    if node.get("refdomain") != "py" or "aliases" not in _STATE:
        return None
    domain = env.get_domain("py")
    resolved = _resolve(node["reftarget"], node.get("py:module"), lambda name: name in domain.objects)
    if resolved is None:
        return None
    name, inside_module = resolved
    if inside_module is None:
        entry = domain.objects.get(name)
        if entry is None:
            return None
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)
    module_entry = domain.modules.get(name)
    if module_entry is None:
        return None
    return make_refnode(app.builder, node["refdoc"], module_entry.docname, module_entry.node_id, contnode,
                        f"{name}.{inside_module} (in module {name})")


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    app.connect("missing-reference", _on_missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
