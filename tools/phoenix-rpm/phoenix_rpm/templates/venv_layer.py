"""Make the bundled virtualenv of a package while rpmbuild installs it, in two layers.

The generated spec writes this file into the build folder and runs it: it is
part of the spec, so the SRPM needs nothing else. The requirements' layer (a
venv with every wheel of the wheels folder installed, no path naming the
build root, byte-compiled) depends only on the wheels, the interpreter, the
venv's final path and this file. A build host may pass a folder of layers an
earlier build saved (``layer ... CACHE SAVE``): the layer is then unpacked
instead of made, and the package gets the same bytes either way (the build
tests compare them). Without one (Koji, mock) it is made here, offline.

Rules for this file: it is pasted into the spec through a shell here-document
and rpm expands macros there, so it holds no percent sign; Jinja renders it,
so no brace pair of Jinja's either.
"""
import base64
import compileall
import csv
import hashlib
import importlib.util
import os
import py_compile
import shutil
import subprocess
import sys

MODE = py_compile.PycInvalidationMode.CHECKED_HASH


def layer_key(venv_dir: str, wheels: str) -> str:
    """What the layer depends on: this file, the interpreter, the venv path, the wheels."""
    h = hashlib.sha256()
    with open(__file__, "rb") as fh:
        h.update(fh.read())
    h.update(("\0" + venv_dir + "\0" + sys.version + "\0").encode())
    try:
        # The pip (and setuptools) wheels venv seeds the layer with.
        import ensurepip

        h.update(ensurepip.version().encode())
        h.update(repr(sorted(ensurepip._get_packages().items())).encode())
    except Exception:
        pass
    for name in sorted(os.listdir(wheels)):
        if name.endswith(".whl"):
            with open(os.path.join(wheels, name), "rb") as fh:
                h.update(("\0" + name + "\0").encode() + hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:32]


def seed_wheels() -> list:
    """The pip and setuptools wheel files ``python -m venv`` would seed a venv with, or []."""
    try:
        import ensurepip

        paths = [package.wheel_path for package in ensurepip._get_packages().values()]
    except Exception:
        return []
    if any(not path or not os.path.isfile(path) for path in paths):
        return []
    if not any(os.path.basename(path).startswith("pip-") for path in paths):
        return []
    return sorted(paths)


def make_layer(buildroot: str, venv_dir: str, wheels: str, cache: str, save: str) -> None:
    """The requirements' layer under BUILDROOT/VENV_DIR: from CACHE when it has it, else made."""
    key = layer_key(venv_dir, wheels)
    target = buildroot + venv_dir
    cached = os.path.join(cache, "venv-" + key + ".tar") if cache else ""
    if cached and os.path.isfile(cached):
        os.makedirs(target)
        if subprocess.run(["tar", "-C", target, "-xf", cached]).returncode == 0:
            print("venv layer " + key + ": unpacked from " + cached, flush=True)
            return
        # A layer removed or cut short meanwhile: make it, as without a cache.
        shutil.rmtree(target)
    print("venv layer " + key + ": made from the wheels", flush=True)
    names = sorted({name.split("-", 1)[0] for name in os.listdir(wheels) if name.endswith(".whl")})
    python = os.path.join(target, "bin", "python")
    options = ["install", "--no-index", "--find-links", wheels, "--no-compile", "--no-warn-script-location",
               "--upgrade"]
    seeds = seed_wheels()
    if seeds:
        # What venv's ensurepip would install (its pip and setuptools wheels),
        # in the same pip run as the wheels, and not byte-compiled: the
        # bytecode ensurepip writes is thrown away below anyway.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", target], check=True)
        pip_wheel = next(path for path in seeds if os.path.basename(path).startswith("pip-"))
        run_pip = "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); " \
                  "runpy.run_module('pip', run_name='__main__', alter_sys=True)"
        folders = sorted({os.path.dirname(path) for path in seeds})
        extra = [arg for folder in folders for arg in ("--find-links", folder)]
        if "pip" in names and "setuptools" in names:
            # The wheels hold pip and setuptools: those go in, not the
            # interpreter's own (the seed pip only runs the install), so the
            # venv is the wheels' and nothing else.
            extra = []
        subprocess.run([python, "-c", run_pip, pip_wheel, *options, *extra, "pip", "setuptools", *names],
                       check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", target], check=True)
        subprocess.run([python, "-m", "pip", *options, *names], check=True)
    finish(buildroot, venv_dir, everything=True)
    if save:
        os.makedirs(save, exist_ok=True)
        partial = os.path.join(save, "venv-" + key + ".tar.partial")
        subprocess.run(["tar", "--sort=name", "-C", target, "-cf", partial, "."], check=True)
        os.replace(partial, partial[: -len(".partial")])


def finish(buildroot: str, venv_dir: str, everything: bool = False) -> None:
    """Take the build root out of the venv and byte-compile what is not compiled yet.

    ``everything``: a fresh layer, whose bytecode (written by pip and
    setuptools while they ran, naming the build root) is all dropped and
    compiled anew, in parallel.
    """
    target = buildroot + venv_dir
    # Config and other files under etc/ belong in /etc (the spec installs them), not in the venv.
    shutil.rmtree(os.path.join(target, "etc"), ignore_errors=True)
    for dirpath, dirnames, filenames in os.walk(target):
        if "direct_url.json" in filenames:
            os.unlink(os.path.join(dirpath, "direct_url.json"))
        if everything and "__pycache__" in dirnames:
            dirnames.remove("__pycache__")
            shutil.rmtree(os.path.join(dirpath, "__pycache__"))
    changed = strip_buildroot(buildroot, target)
    changed |= mangle_shebangs(target, venv_dir)
    fix_records(target, changed)
    if everything:
        compileall.compile_dir(target, quiet=2, force=True, stripdir=buildroot, prependdir="/",
                               invalidation_mode=MODE, workers=0)
    else:
        compile_missing(buildroot, target)


def strip_buildroot(buildroot: str, target: str) -> set:
    """Rewrite text files naming the build root; drop bytecode naming it (compiled again later)."""
    proc = subprocess.run(["grep", "-rl", "--null", "-F", "-e", buildroot, target], stdout=subprocess.PIPE)
    changed = set()
    needle = buildroot.encode()
    for raw in proc.stdout.split(b"\0"):
        if not raw:
            continue
        path = os.fsdecode(raw)
        if os.path.islink(path):
            continue
        if path.endswith(".pyc"):
            os.unlink(path)
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        if b"\0" in data:
            continue  # binary: left for the spec's final check to report
        with open(path, "r+b") as fh:
            fh.write(data.replace(needle, b""))
            fh.truncate()
        changed.add(os.path.normpath(path))
    return changed


def mangle_shebangs(target: str, venv_dir: str) -> set:
    """What Fedora's brp-mangle-shebangs does, for the venv: every interpreter line made exact.

    Dependencies ship scripts and test files starting with ``#!/usr/bin/env
    python`` or ``#!python``: on the target that would run whatever python is
    first on PATH, without the bundled libraries (rpmlint:
    env-script-interpreter). A python interpreter becomes the venv's own
    (VENV_DIR/bin/python); ``/usr/bin/env NAME`` of another language becomes
    /usr/bin/NAME; a bare relative interpreter that is not python loses its
    executable bits. Bytecode of a rewritten .py goes (compiled again below).
    The rewrite only depends on the file, so it is reproducible.
    """
    python = (venv_dir + "/bin/python").encode()
    changed = set()
    for dirpath, dirnames, filenames in os.walk(target):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or name.endswith((".pyc", ".so")):
                continue
            try:
                with open(path, "rb") as fh:
                    head = fh.read(2)
                    if head != b"#!":
                        continue
                    first = head + fh.readline()
                    rest = fh.read()
            except OSError:
                continue
            words = first[2:].strip().split()
            if not words:
                continue
            interp, args = words[0], words[1:]
            if interp.endswith(b"/env") and args:
                args = [a for a in args if not a.startswith(b"-")] or args
                interp, args = args[0], args[1:]
            base = os.path.basename(interp)
            if base.startswith(b"python") or base in (b"pypy", b"pypy3"):
                new_interp = python
            elif not interp.startswith(b"/"):
                new_interp = b"/usr/bin/" + base
            else:
                continue  # an absolute interpreter (/bin/sh, /usr/bin/perl): already exact
            line = b"#!" + b" ".join([new_interp, *args]) + b"\n"
            if line == first:
                continue
            with open(path, "wb") as fh:
                fh.write(line + rest)
            changed.add(os.path.normpath(path))
            if name.endswith(".py"):
                try:
                    os.unlink(importlib.util.cache_from_source(path))
                except OSError:
                    pass
    return changed


def fix_records(target: str, changed: set) -> None:
    """pip's RECORD files follow the venv: rows of removed files go, rewritten files get their hash."""
    for dirpath, dirnames, filenames in os.walk(target):
        if not dirpath.endswith(".dist-info") or "RECORD" not in filenames:
            continue
        dirnames[:] = []
        record = os.path.join(dirpath, "RECORD")
        base = os.path.dirname(dirpath)
        with open(record, newline="") as fh:
            rows = list(csv.reader(fh))
        out = []
        for row in rows:
            path = os.path.normpath(os.path.join(base, row[0])) if row else ""
            if row and not os.path.lexists(path):
                continue
            if row and path in changed and len(row) >= 3 and row[1]:
                with open(path, "rb") as fh:
                    data = fh.read()
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                row = [row[0], "sha256=" + digest, str(len(data)), *row[3:]]
            out.append(row)
        if out != rows:
            with open(record, "w", newline="") as fh:
                csv.writer(fh).writerows(out)


def compile_missing(buildroot: str, target: str) -> None:
    """Compile each .py that has no bytecode yet, as compileall -f would (same bytes)."""
    todo = []

    def walk(folder: str) -> None:
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.endswith(".py") and os.path.isfile(path):
                if not os.path.exists(importlib.util.cache_from_source(path)):
                    todo.append(path)
            elif os.path.isdir(path) and not os.path.islink(path):
                walk(path)

    walk(target)
    for path in todo:
        compileall.compile_file(path, quiet=2, force=True, stripdir=buildroot, prependdir="/",
                                invalidation_mode=MODE)


def sbom(buildroot: str, venv_dir: str, out: str, name: str, version: str) -> None:
    """A CycloneDX 1.5 JSON SBOM of every distribution installed in the venv.

    Read from the venv's own metadata (what pip list shows), so it names what
    is there, not what was asked for. Reproducible: the timestamp is
    SOURCE_DATE_EPOCH and the serial number a uuid5 of the content.
    """
    import datetime
    import glob
    import importlib.metadata
    import json
    import uuid

    sites = sorted(glob.glob(os.path.join(buildroot + venv_dir, "lib", "python*", "site-packages")))
    components = []
    seen = set()
    for dist in importlib.metadata.distributions(path=sites):
        dist_name = dist.metadata["Name"]
        key = (dist_name.lower().replace("_", "-").replace(".", "-"), dist.version)
        if key in seen:
            continue
        seen.add(key)
        purl = "pkg:pypi/" + key[0] + "@" + dist.version
        item = dict(type="library", name=dist_name, version=dist.version, purl=purl)
        item["bom-ref"] = purl
        licence = dist.metadata.get("License-Expression") or ""
        if not licence:
            classifiers = [c.split(" :: ")[-1] for c in dist.metadata.get_all("Classifier") or []
                           if c.startswith("License :: ")]
            licence = classifiers[0] if classifiers else ""
        if licence and len(licence) < 100:
            item["licenses"] = [dict(license=dict(name=licence))]
        components.append(item)
    components.sort(key=lambda c: (c["name"].lower(), c["version"]))
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or 0)
    stamp = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    subject = dict(type="application", name=name, version=version)
    subject["bom-ref"] = "pkg:rpm/" + name + "@" + version
    body = json.dumps(components, sort_keys=True) + name + version
    document = dict(bomFormat="CycloneDX", specVersion="1.5",
                    serialNumber="urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, body)), version=1,
                    metadata=dict(timestamp=stamp, component=subject,
                                  tools=dict(components=[dict(type="application", name="phoenix-rpm")])),
                    components=components)
    with open(out, "w") as fh:
        json.dump(document, fh, indent=2, sort_keys=True)
        fh.write("\n")


def main(argv: list) -> int:
    if argv[:1] == ["layer"] and len(argv) == 6:
        make_layer(*argv[1:])
    elif argv[:1] == ["finish"] and len(argv) == 3:
        finish(argv[1], argv[2])
    elif argv[:1] == ["sbom"] and len(argv) == 6:
        sbom(*argv[1:])
    else:
        sys.stderr.write("usage: layer BUILDROOT VENV_DIR WHEELS CACHE SAVE | finish BUILDROOT VENV_DIR"
                         " | sbom BUILDROOT VENV_DIR OUT NAME VERSION\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
