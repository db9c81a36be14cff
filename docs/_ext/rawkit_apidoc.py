"""Sphinx extension: write the API reference pages from the packages' ``__all__``.

Every name a user can import (each public package's ``__all__``) gets exactly one entry,
documented under the name users import it by (``rawkit.cfa.pack``, not
``rawkit.cfa.packing.pack``), grouped under one heading per submodule that defines it.
The pages are regenerated on every build (``config-inited``), so a name added to an
``__all__`` appears in the book without anyone editing a page, and a name that cannot be
documented fails the build instead of silently vanishing.

Also here, because they are about what the API pages show:

* members whose only docstring is inherited from PyTorch (``forward``, ``extra_repr``,
  ...) and the ``Alias for field number N`` boilerplate of NamedTuple fields are skipped;
* data and type aliases get the ``#:`` comment (or docstring) written next to their
  definition in the module that defines them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
import types
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: page file stem -> (title, packages documented on that page, in order).
PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "cfa": ("Bayer patterns, packing and demosaicing", ("rawkit.cfa",)),
    "isp": ("The ISP and its inverse", ("rawkit.isp",)),
    "io": ("Files: RAW, DNG, AIM22, images, checkpoints", ("rawkit.io",)),
    "data": ("Data: photos, synthetic pairs and videos, datasets", ("rawkit.data",)),
    "search": ("Pixel search and prior banks", ("rawkit.search", "rawkit.prior")),
    "flow": ("Optical flow and confidence masks", ("rawkit.flow", "rawkit.masks")),
    "metrics": ("Metrics and losses", ("rawkit.metrics", "rawkit.losses")),
    "nets": ("Networks and training", ("rawkit.nets", "rawkit.engine")),
    "pipelines": ("Pipelines", ("rawkit.pipelines",)),
    "testing": ("Testing your own pipelines", ("rawkit.testing",)),
    "bench": ("Benchmarks", ("rawkit.bench",)),
}

#: id of every documented function, class and module -> the name it is documented under
DOCUMENTED_IDS: dict[int, str] = {}
#: "defining.module.NAME" of every documented constant -> the name it is documented under
DOCUMENTED_DATA: dict[str, str] = {}
#: names found without a '#:' comment or docstring (reported as a warning by the build)
UNDOCUMENTED: list[str] = []

HERE = Path(__file__).resolve().parent.parent  # the book's root (docs/)
INTRO_DIR = HERE / "api" / "intro"  # optional hand-written text: intro/<stem>.md


def _public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _home_module(package: types.ModuleType, name: str, obj: Any) -> str:
    """The module that defines ``name`` (for functions and classes: their ``__module__``)."""
    module = getattr(obj, "__module__", None)
    if (
        isinstance(module, str)
        and module.startswith("rawkit")
        and (inspect.isfunction(obj) or inspect.isclass(obj) or callable(obj))
        and not _is_alias(obj)
    ):
        return module
    # data and type aliases: the submodule whose source assigns the name
    return _assigning_module(package, name) or package.__name__


def _owner_package(obj: Any) -> str | None:
    """The documented package that defines a class or function (None for data)."""
    module = getattr(obj, "__module__", None)
    if not (inspect.isclass(obj) or inspect.isroutine(obj)) or not isinstance(module, str):
        return None
    packages = [p for _, ps in PAGES.values() for p in ps]
    owners = [p for p in packages if module == p or module.startswith(p + ".")]
    return max(owners, key=len) if owners else None


def _assigning_module(package: types.ModuleType, name: str) -> str | None:
    """The package or first submodule whose source assigns ``name`` (None if none does)."""
    pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=\n]*)?=", re.MULTILINE)
    candidates = [package.__name__]
    if hasattr(package, "__path__"):
        candidates += [
            m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
        ]
    for candidate in candidates:
        try:
            source = inspect.getsource(importlib.import_module(candidate))
        except (OSError, TypeError, ImportError):
            continue
        if pattern.search(source):
            return candidate
    return None


def _assigned_in(package: types.ModuleType, name: str) -> bool:
    """Whether the package or one of its submodules assigns ``name`` (defines it)."""
    return _assigning_module(package, name) is not None


def _exporting_package(current: str, name: str, obj: Any) -> str | None:
    """Another documented package that exports the same object under ``name`` and defines it."""
    for _, packages in PAGES.values():
        for other in packages:
            if other == current:
                continue
            try:
                module = importlib.import_module(other)
            except ImportError:
                continue
            if name in getattr(module, "__all__", ()) and getattr(module, name) is obj:
                if _assigned_in(module, name):
                    return other
    return None


def _is_alias(obj: Any) -> bool:
    return type(obj).__module__ in ("typing", "collections.abc", "types") or isinstance(
        obj, type(list[int])
    )


def _section(module: str, package: str) -> str:
    """The heading a name goes under: its defining module, or the package for private ones."""
    if not _public(module) or not module.startswith(package):
        return package
    return module


def _attr_doc(module: str, name: str) -> list[str]:
    try:
        analyzer = ModuleAnalyzer.for_module(module)
        docs = analyzer.find_attr_docs()
    except Exception:  # noqa: BLE001 - no source: no comment to show
        return []
    return [line for line in docs.get(("", name), []) if line is not None]


def _value(obj: Any) -> str | None:
    text = repr(obj).replace("typing.", "")
    if "\n" in text or len(text) > 90:
        return None
    return text


def _data_block(full: str, home: str, name: str, obj: Any) -> list[str]:
    DOCUMENTED_DATA[f"{home}.{name}"] = full
    DOCUMENTED_DATA[full] = full
    module, _, short = full.rpartition(".")
    lines = [f".. py:data:: {short}", f"   :module: {module}"]
    value = _value(obj)
    if value is not None:
        lines.append(f"   :value: {value}")
    doc = _attr_doc(home, name)
    if not doc:
        UNDOCUMENTED.append(f"{full} (defined in {home})")
    lines.append("")
    lines += [f"   {line}" if line else "" for line in doc]
    return lines


def _object_block(full: str, obj: Any) -> list[str]:
    DOCUMENTED_IDS.setdefault(id(obj), full)
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return [f".. autoexception:: {full}", ""]
        return [f".. autoclass:: {full}", "   :members:", ""]
    return [f".. autofunction:: {full}", ""]


def _module_intro(module: str) -> list[str]:
    parent, _, short = module.rpartition(".")
    if parent and getattr(
        importlib.import_module(parent), short, None
    ) is not importlib.import_module(module):
        # the package re-exports a function of the same name (rawkit.cfa.demosaic):
        # the function owns the name, the module's text is shown without a target
        return [f".. automodule:: {module}", "   :no-members:", "   :no-index:", ""]
    DOCUMENTED_IDS.setdefault(id(importlib.import_module(module)), module)
    return [f".. automodule:: {module}", "   :no-members:", ""]


def render_page(stem: str) -> str:
    title, packages = PAGES[stem]
    out = [f"# {title}", ""]
    intro = INTRO_DIR / f"{stem}.md"
    if intro.exists():
        out += [intro.read_text().rstrip(), ""]
    seen: set[int] = set()
    for package_name in packages:
        try:
            package = importlib.import_module(package_name)
        except ImportError:
            continue  # a package not written yet: nothing to document
        if len(packages) > 1:
            out += [f"## `{package_name}`", ""]
        exported = getattr(package, "__all__", None)
        if exported is None:  # no __all__: one section per public submodule
            out += ["```{eval-rst}", *_module_intro(package_name), "```", ""]
            for info in pkgutil.iter_modules(package.__path__):
                if info.name.startswith("_"):
                    continue
                sub = f"{package_name}.{info.name}"
                out += [f"{'###' if len(packages) > 1 else '##'} `{sub}`", ""]
                out += ["```{eval-rst}", f".. automodule:: {sub}", "   :members:", "```", ""]
            continue
        sections: dict[str, list[str]] = {}
        submodules: list[tuple[str, types.ModuleType]] = []
        elsewhere: list[str] = []
        for name in exported:
            obj = getattr(package, name)
            if isinstance(obj, types.ModuleType):
                submodules.append((name, obj))
                continue
            owner = _owner_package(obj)
            if owner is None and not _assigned_in(package, name):
                owner = _exporting_package(package_name, name, obj)
            if owner is not None and owner != package_name:
                # re-exported from another package: documented there, linked from here
                elsewhere.append(f"* {name}: :py:obj:`{owner}.{name}`")
                continue
            full = f"{package_name}.{name}"
            home = _home_module(package, name, obj)
            documentable = inspect.isclass(obj) or (callable(obj) and not _is_alias(obj))
            block = _object_block(full, obj) if documentable else _data_block(full, home, name, obj)
            if not _is_alias(obj) and not isinstance(obj, (int, float, str, bytes, tuple)):
                seen.add(id(obj))
            sections.setdefault(_section(home, package_name), []).extend(block)
        for _name, module in submodules:  # e.g. rawkit.pipelines.priorraw: its own names too
            rest = [n for n in getattr(module, "__all__", []) if id(getattr(module, n)) not in seen]
            section = sections.setdefault(module.__name__, [])
            for n in rest:
                obj = getattr(module, n)
                full = f"{module.__name__}.{n}"
                if inspect.isclass(obj) or (callable(obj) and not _is_alias(obj)):
                    section.extend(_object_block(full, obj))
                else:
                    section.extend(_data_block(full, _home_module(module, n, obj), n, obj))
        level = "###" if len(packages) > 1 else "##"
        try:
            init_source = inspect.getsource(package)
        except (OSError, TypeError):
            init_source = ""

        def position(section: str, source: str = init_source) -> tuple[int, str]:
            found = source.find(section)
            return (found if found >= 0 else len(source), section)

        out += ["```{eval-rst}", *_module_intro(package_name)]
        if elsewhere:
            out += ["Also importable from here (documented with their own package):", ""]
            out += [*elsewhere, ""]
        out += [*sections.pop(package_name, []), "```", ""]
        for section in sorted(sections, key=position):
            out += [f"{level} `{section}`", ""]
            out += ["```{eval-rst}", *_module_intro(section), *sections[section], "```", ""]
    return "\n".join(out).rstrip() + "\n"


def write_pages(app: Sphinx | None = None, config: Any = None) -> None:
    if config is not None:  # _config.yml gives lists; Sphinx matches (role, target) tuples
        config.nitpick_ignore = [tuple(entry) for entry in config.nitpick_ignore]
    UNDOCUMENTED.clear()
    DOCUMENTED_IDS.clear()
    DOCUMENTED_DATA.clear()
    for stem in PAGES:
        path = HERE / "api" / f"{stem}.md"
        text = render_page(stem)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def _report_undocumented(app: Sphinx) -> None:
    # not a warning: a constant added without a comment still gets its entry (name and
    # value), and must not break the build; the list says what to describe next
    for entry in UNDOCUMENTED:
        logger.info(
            "%s has no '#:' comment or docstring next to its definition; "
            "the API page shows its name and value only",
            entry,
        )


def _skip_member(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any) -> Any:
    doc = getattr(obj, "__doc__", None)
    if isinstance(doc, str) and doc.startswith("Alias for field number"):
        return True  # NamedTuple field boilerplate: the class docstring describes the fields
    if inspect.isroutine(obj) and doc is None:
        import torch

        if hasattr(torch.nn.Module, name):
            return True  # its only docstring would be PyTorch's generic one
    return None


def _lookup(dotted: str) -> Any:
    """The object at a dotted path (module prefix imported, the rest by attribute), or KeyError."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            try:
                obj = inspect.getattr_static(obj, attr)
            except AttributeError:
                raise KeyError(dotted) from None
        return obj
    raise KeyError(dotted)


def documented_name(dotted: str) -> str | None:
    """Where the object a dotted path names is documented, if anywhere.

    The object itself if it has an entry (under whatever public name); else, for a field
    of a documented class (listed in the class's text, no entry of its own), the class;
    for a public constant or submodule of a documented module, that module's section.
    """
    if not dotted.startswith("rawkit"):
        return None
    if dotted in DOCUMENTED_DATA:
        return DOCUMENTED_DATA[dotted]
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = _lookup(".".join(parts[:cut]))
        except KeyError:
            if cut == len(parts) and len(parts) > 1 and _is_field(".".join(parts[:-1]), parts[-1]):
                continue  # a dataclass field without a class attribute: fall back to the class
            if cut == len(parts):
                return None  # no such object: a real broken reference
            continue
        if id(obj) in DOCUMENTED_IDS:
            rest = parts[cut:]
            if not rest or inspect.ismodule(obj) or not _public(".".join(rest)):
                return DOCUMENTED_IDS[id(obj)] if (not rest or _public(".".join(rest))) else None
            return ".".join([DOCUMENTED_IDS[id(obj)], *rest])
    return None


def _is_field(owner: str, attr: str) -> bool:
    try:
        cls = _lookup(owner)
    except KeyError:
        return False
    fields = getattr(cls, "__dataclass_fields__", None) or getattr(cls, "_fields", ())
    return inspect.isclass(cls) and attr in fields


def _modules_defining(name: str) -> list[str]:
    """Documented modules that export ``name`` (in their ``__all__``) as their own."""
    found = []
    for full in set(DOCUMENTED_IDS.values()):
        module = sys.modules.get(full)
        if isinstance(module, types.ModuleType) and name in getattr(module, "__all__", ()):
            found.append(f"{full}.{name}")
    return found if len(found) == 1 else []


def _public_bases(app: Sphinx, _name: str, obj: Any, options: Any, bases: list[Any]) -> None:
    """Show a private base class (``rawkit.x._common.Base``) as its public ancestors."""
    out: list[Any] = []
    for base in bases:
        queue = [base]
        while queue:
            b = queue.pop(0)
            module = getattr(b, "__module__", "")
            if module.startswith("rawkit") and not _public(module) and id(b) not in DOCUMENTED_IDS:
                queue[:0] = list(b.__bases__)
            elif b not in out:
                out.append(b)
    bases[:] = out


def _missing_reference(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a rawkit name written relative to its defining module (``pack_bits`` in
    ``rawkit.cfa.bitpack``, ``rawkit.pipelines.tiling.tiled_apply``) to the entry that
    documents the same object under its public name. Names that are not rawkit objects,
    or not documented, stay unresolved (and warn)."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    module = node.get("py:module") or ""
    cls = node.get("py:class")
    candidates = []
    if module:
        parts = module.split(".")
        if cls:
            candidates.append(f"{module}.{cls}.{target}")
        candidates += [".".join([*parts[:i], target]) for i in range(len(parts), 0, -1)]
    # the docstring's own module (``docstring of rawkit.io.raw.RawImage``): names written
    # relative to the module that defines the documented object
    source = str(node.source or "")
    if "docstring of " in source:
        parts = source.rsplit("docstring of ", 1)[1].split(".")
        candidates += [".".join([*parts[:i], target]) for i in range(len(parts), 0, -1)]
    candidates.append(target)
    if "." not in target:  # e.g. an alias in a signature: the documented module defining it
        candidates += _modules_defining(target)
    domain = env.get_domain("py")
    for candidate in candidates:
        name = documented_name(candidate)
        if name is None:
            continue
        while name:
            found = domain.resolve_xref(
                env, node["refdoc"], app.builder, "obj", name, node, contnode
            )
            if found is not None:
                return found
            name = name.rpartition(".")[0]  # a field or constant: its class or module
            if name in ("", "rawkit"):
                break
    return None


_MULTI = re.compile(r"^(\s+)([A-Za-z_]\w*(?:, [A-Za-z_]\w*)+)((?: \([^)]*\))?:.*)$")


def _split_attribute_names(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """``a, b: text`` in an ``Attributes:`` section becomes one entry per name (before
    napoleon turns each entry into a field whose argument must be a single name)."""
    out: list[str] = []
    section_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped == "Attributes:":
            section_indent = indent
        elif stripped and section_indent is not None and indent <= section_indent:
            section_indent = None
        match = _MULTI.match(line) if section_indent is not None else None
        if match is None or len(match.group(1)) <= (section_indent or 0):
            out.append(line)
            i += 1
            continue
        lead, names, rest = match.groups()
        body = []
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(lead)
        ):
            if not lines[i].strip() and (
                i + 1 >= len(lines) or len(lines[i + 1]) - len(lines[i + 1].lstrip()) <= len(lead)
            ):
                break
            body.append(lines[i])
            i += 1
        for single in names.split(", "):
            out += [f"{lead}{single}{rest}", *body]
    lines[:] = out


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", write_pages, priority=10)
    app.connect("builder-inited", _report_undocumented)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _split_attribute_names, priority=100)
    app.connect("missing-reference", _missing_reference)
    app.connect("autodoc-process-bases", _public_bases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    write_pages()
    print("\n".join(UNDOCUMENTED))
