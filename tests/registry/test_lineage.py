from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sklearn

import mlcore
from mlcore.errors import InvalidInput
from mlcore.registry.lineage import (
    GitCommit,
    code_fingerprint,
    environment,
    git_commit,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def helper(x: int) -> int:
    return x + 1


def test_fingerprint_defaults_to_the_calling_module():
    assert code_fingerprint() == code_fingerprint(Path(__file__))


def test_fingerprint_of_one_file_is_a_length_prefixed_sha256(tmp_path):
    source = b"def train():\n    return 1\n"
    (tmp_path / "train.py").write_bytes(source)
    expected = hashlib.sha256()
    for part in (b"train.py", source):
        expected.update(len(part).to_bytes(8, "big") + part)
    assert code_fingerprint(tmp_path / "train.py") == expected.hexdigest()


def test_fingerprint_follows_the_source_text():
    def first(x):
        return x + 1

    def second(x):
        return x + 2

    assert code_fingerprint(first) == code_fingerprint(first)
    assert code_fingerprint(first) != code_fingerprint(second)
    assert code_fingerprint(helper, second) != code_fingerprint(second, helper)


def test_fingerprint_of_a_directory_sees_every_python_file_and_its_place(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    (tmp_path / "b.py").write_text("B = 2\n")
    (tmp_path / "notes.txt").write_text("ignored")
    before = code_fingerprint(tmp_path)
    (tmp_path / "notes.txt").write_text("still ignored")
    assert code_fingerprint(tmp_path) == before
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "a.py")
    assert code_fingerprint(tmp_path) != before
    (tmp_path / "a.py").rename(tmp_path / "pkg" / "a.py")
    assert code_fingerprint(tmp_path) == before
    (tmp_path / "b.py").write_text("B = 3\n")
    assert code_fingerprint(tmp_path) != before


def test_fingerprint_ignores_line_ending_style(tmp_path):
    script = tmp_path / "train.py"
    script.write_bytes(b"x = 1\ny = 2\n")
    unix = code_fingerprint(script)
    script.write_bytes(b"x = 1\r\ny = 2\r\n")
    assert code_fingerprint(script) == unix


def test_fingerprint_refuses_what_has_no_source(tmp_path):
    namespace: dict = {}
    exec("def typed_in_a_notebook():\n    return 1\n", namespace)
    with pytest.raises(InvalidInput, match="cannot read the source"):
        code_fingerprint(namespace["typed_in_a_notebook"])
    with pytest.raises(InvalidInput, match="of type builtin_function_or_method"):
        code_fingerprint(len)
    with pytest.raises(InvalidInput, match="no such file"):
        code_fingerprint(tmp_path / "missing.py")
    with pytest.raises(InvalidInput, match="of type int"):
        code_fingerprint(3)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "train.py").write_text("x = 1\n")
    (tmp_path / "src").mkdir()
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


@needs_git
def test_git_commit_in_a_repository(repo):
    head = git(repo, "rev-parse", "HEAD")
    assert git_commit(repo) == GitCommit(commit=head, dirty=False, branch="main")
    # a file path and a subdirectory resolve to the same work tree
    assert git_commit(repo / "train.py") == git_commit(repo / "src")


@needs_git
def test_git_commit_dirty_flag_tracks_tracked_files_only(repo):
    (repo / "scratch.csv").write_text("untracked output")
    assert git_commit(repo).dirty is False
    (repo / "train.py").write_text("x = 2\n")
    assert git_commit(repo).dirty is True
    git(repo, "add", "train.py")
    assert git_commit(repo).dirty is True  # staged but not committed
    git(repo, "commit", "-q", "-m", "second")
    assert git_commit(repo) == GitCommit(git(repo, "rev-parse", "HEAD"), False, "main")


@needs_git
def test_git_commit_detached_head(repo):
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    assert git_commit(repo) == GitCommit(head, False, None)


@needs_git
def test_git_commit_is_none_outside_a_repository_or_before_the_first_commit(tmp_path):
    (tmp_path / "plain").mkdir()
    assert git_commit(tmp_path / "plain") is None
    assert git_commit(tmp_path / "does-not-exist") is None
    (tmp_path / "fresh").mkdir()
    git(tmp_path / "fresh", "init", "-q")
    assert git_commit(tmp_path / "fresh") is None


def test_git_commit_is_none_without_git(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "src"))  # a PATH holding no git
    assert git_commit(repo) is None


def test_environment_reports_the_installed_versions():
    env = environment(extra_packages=["hypothesis", "no-such-distribution-xyz"])
    assert env["python"] == platform.python_version()
    packages = env["packages"]
    assert packages["numpy"] == np.__version__
    assert packages["scikit-learn"] == sklearn.__version__
    assert packages["mlcore"] == mlcore.__version__
    assert packages["no-such-distribution-xyz"] is None
    assert packages["hypothesis"] is not None
    assert list(packages)[:6] == ["numpy", "scipy", "scikit-learn", "polars", "skops", "mlcore"]
    json.dumps(env)


def test_lineage_reads_versions_without_importing_the_packages():
    code = (
        "import sys; from mlcore.registry.lineage import environment; environment(); "
        "print(sorted({'numpy', 'scipy', 'sklearn', 'polars', 'skops'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
