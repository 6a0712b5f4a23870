"""TinyDB's own test suite, run against the project's store.

The suite comes from the sdist of the installed (pinned) TinyDB, downloaded from
PyPI with pip at test time and kept in pytest's cache folder; it is not copied into
this repository. ``tinydb_suite_plugin`` makes it open ``Database`` wherever it
opens ``TinyDB``. A failed download fails this test: CI must reach PyPI.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

TINYDB_VERSION = importlib.metadata.version("tinydb")

# The sdist's digest as PyPI lists it: the suite runs code, so it must be that file.
# Moving the pin in pyproject.toml means adding its sdist's sha256 here.
SDIST_SHA256 = {
    "4.9.0": "6928b1fa785186bda7952a0ba05aaeedc883ede565ca9c7d608de44e5e75de70",
}

# The only tests of TinyDB's suite not run against the store, each with its reason
# (the README's "Differences from stock TinyDB" says the same to users).
DESELECTED = {
    "tests/test_storages.py::test_json_kwargs": (
        "JSON file format: compares the file's bytes with TinyDB's indented JSON; the "
        "store's files are a checksummed snapshot and journal"
    ),
    "tests/test_tables.py::test_table_repr[memory]": (
        "repr: expects the name of TinyDB's storage class (MemoryStorage)"
    ),
    "tests/test_tables.py::test_table_repr[json]": (
        "repr: expects the name of TinyDB's storage class (JSONStorage)"
    ),
    "tests/test_tinydb.py::test_access_storage": (
        "storage class: asserts db.storage is a MemoryStorage or a CachingMiddleware; "
        "the store's storage is always its JournalStorage"
    ),
    "tests/test_tinydb.py::test_storage_access": (
        "storage class: asserts db.storage is a MemoryStorage"
    ),
    "tests/test_tinydb.py::test_storage_closed_once": (
        "storage plug-in: opens TinyDB on the test's own storage class; the store is a "
        "storage itself and takes no other"
    ),
    "tests/test_tinydb.py::test_empty_write": (
        "storage plug-in: wraps JSONStorage in the test's own middleware"
    ),
    "tests/test_storages.py::test_read_once": (
        "storage plug-in: counts the reads of the test's own storage class"
    ),
    "tests/test_storages.py::test_custom_with_exception": (
        "storage plug-in: the test's own storage class raising in its constructor"
    ),
    "tests/test_storages.py::test_yaml": (
        "storage plug-in: the test's own YAML storage (and PyYAML, which is not installed)"
    ),
    "tests/test_middlewares.py::test_caching_read": (
        "storage plug-in: TinyDB's CachingMiddleware around MemoryStorage"
    ),
    "tests/test_middlewares.py::test_caching_json_write": (
        "storage plug-in: TinyDB's CachingMiddleware around JSONStorage"
    ),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download_sdist(folder: Path) -> Path:
    """The sdist of the installed TinyDB in ``folder``, downloaded if not there yet."""
    expected = SDIST_SHA256.get(TINYDB_VERSION)
    if expected is None:
        pytest.fail(f"TinyDB {TINYDB_VERSION} is installed: add its sdist's sha256 to SDIST_SHA256")
    sdist = folder / f"tinydb-{TINYDB_VERSION}.tar.gz"
    if not (sdist.exists() and _sha256(sdist) == expected):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(folder),
                f"tinydb=={TINYDB_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not sdist.exists():
            pytest.fail(
                f"could not download the sdist of tinydb=={TINYDB_VERSION} from PyPI "
                f"(pip exit {done.returncode}); this test needs the network:\n"
                f"{done.stdout}\n{done.stderr}"
            )
    if _sha256(sdist) != expected:
        pytest.fail(f"{sdist}: sha256 {_sha256(sdist)}, expected {expected}")
    return sdist


def _unpack_tests(sdist: Path, root: Path) -> Path:
    """Unpack only the sdist's ``tests/``, as ``root/tests`` (so the test ids read as
    in TinyDB's repository); return ``root``."""
    top = f"tinydb-{TINYDB_VERSION}/"
    with tarfile.open(sdist) as archive:
        members = []
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(top + "tests/"):
                member.name = member.name.removeprefix(top)
                members.append(member)
        archive.extractall(root, members=members, filter="data")
    # A config of its own: otherwise pytest would take this project's pyproject.toml.
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


@pytest.fixture(scope="module")
def suite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)
    folder = (
        cache.mkdir(f"tinydb-{TINYDB_VERSION}-sdist")
        if cache is not None
        else tmp_path_factory.mktemp("tinydb-sdist")
    )
    return _unpack_tests(_download_sdist(Path(folder)), tmp_path_factory.mktemp("tinydb-suite"))


def test_tinydb_own_suite_passes_against_the_store(suite: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    deselect = [arg for name in DESELECTED for arg in ("--deselect", name)]
    env = {
        **os.environ,
        # Plain pytest and the plugin that opens the store: no other plugin's fixtures.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(suite / "pytest.ini"),
            "--rootdir",
            str(suite),
            "-p",
            "tinydb_suite_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={report}",
            *deselect,
            "tests",
        ],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    not_passed = [
        f"{case.get('classname')}::{case.get('name')}: {child.tag}"
        for case in ET.parse(report).getroot().iter("testcase")
        for child in case
        if child.tag in ("failure", "error", "skipped")
    ]
    assert not not_passed
    # A deselected id that no longer exists would hide nothing and rot unnoticed.
    assert f"{len(DESELECTED)} deselected" in done.stdout, done.stdout[-2000:]
