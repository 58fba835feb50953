"""Every CI recipe in docs/ci.md, run as written (issue 26): the GitHub Actions steps with the
environment GitHub gives, the GitLab jobs' scripts, and the shipped pre-commit hook through pre-commit.

Each job runs in a fresh copy of a tiny project (its checkout) with the `precheck` of this checkout
on PATH (each run a process of its own: tests/builders/warm_processes.py); `pip install precheck-st`
(with or without extras) is the one line not run. Artifacts travel between jobs as the CI system moves
them: the files an upload names, into the folder of the job that downloads them.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from scale_models import build_tiny_model
from warm_processes import WarmInterpreter

ROOT = Path(__file__).resolve().parents[2]
INSTALL = re.compile(r"pip install '?precheck-st(\[[\w,]+\])?'?")  # this checkout is the precheck that runs
EARLIER = "earlier step\n"  # what an earlier step of the job wrote to its summary
ARTIFACT_URL = "https://github.com/o/r/actions/runs/1/artifacts/"  # what upload-artifact@v4 would answer
PROJECT = """\
[tool.precheck.defaults]
dtypes = ["fp16"]
device = "cpu"
fix = false
texts = "probe.txt"

[[tool.precheck.models]]
name = "models/tiny"
"""


def _recipes() -> dict[str, dict]:
    """docs/ci.md's YAML blocks by what they are; a block that is none of them fails here, untested."""
    parts = (ROOT / "docs" / "ci.md").read_text().split("```yaml\n")[1:]
    blocks = [yaml.safe_load(part.split("```", 1)[0]) for part in parts]
    found = {}
    for block in blocks:
        if "repos" in block:
            kind = "pre-commit"
        elif "jobs" in block:
            kind = "github-matrix" if "gate" in block["jobs"] else "github"
        elif "stages" in block:
            kind = "gitlab-matrix"
        else:
            assert "script" in block.get("precheck", {}), f"a CI recipe this test does not know: {block}"
            kind = "gitlab"
        assert kind not in found, f"two {kind} recipes"
        found[kind] = block
    return found


RECIPES = _recipes()


@pytest.fixture(scope="module")
def env_base(tmp_path_factory):
    """The environment outside any CI system, with this checkout's precheck first on PATH: each run of it
    a process of its own, forked from one that has imported torch and sentence-transformers once
    (tests/builders/warm_processes.py), so that a job's time is its work, not the imports."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "CI_", "GITLAB_", "RUNNER_", "PRE_COMMIT")) and k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    socket_path = Path(tempfile.mkdtemp(prefix="precheck-fork-")) / "s"  # a Unix socket's path is short
    server = WarmInterpreter(env, socket_path)
    try:
        bin_dir = server.command(tmp_path_factory.mktemp("bin")).parent
        env["PATH"] = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env.get("PATH", "")])
        yield env
    finally:
        server.close()
        shutil.rmtree(socket_path.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A repository as the recipes expect: pyproject.toml with [tool.precheck], a local model, probe texts."""
    folder = tmp_path_factory.mktemp("project")
    build_tiny_model(folder / "models" / "tiny")
    (folder / "probe.txt").write_text("hello world\nthe quick brown fox\nhow do I reset my password?\n")
    (folder / "pyproject.toml").write_text(PROJECT)
    return folder


def _checkout(project: Path, folder: Path) -> Path:
    shutil.copytree(project, folder)
    return folder


def _bash(script: str, folder: Path, env: dict) -> int:
    run = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=folder, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"$ {script}\n{run.stdout}exit {run.returncode}")  # shown when a test fails
    return run.returncode


def _carry(patterns, source: Path, target: Path) -> None:
    """An upload's files (glob patterns, relative to the job) into the folder of a later job."""
    target.mkdir(parents=True, exist_ok=True)
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        for path in glob.glob(str(source / pattern)):
            shutil.copy(path, target)


# --- GitHub Actions -------------------------------------------------------------------------------------

def _expand(script: str, matrix: dict, outputs: dict | None = None) -> str:
    script = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(matrix[m.group(1)]), script)
    script = re.sub(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}",
                    lambda m: (outputs or {})[m.group(1)][m.group(2)], script)
    assert "${{" not in script, f"an expression this test cannot give: {script}"
    return script


def run_github_job(job: dict, project: Path, work: Path, env_base: dict,
                   matrix: dict | None = None) -> tuple[list, Path]:
    """The job's steps in order; `run` steps as GitHub runs them (bash -e; pipefail too), with GITHUB_ACTIONS=true and
    a $GITHUB_STEP_SUMMARY that exists and that an earlier step wrote to. Stops at a failing step."""
    folder, artifacts = work / "job", work.parent / "artifacts"
    summary = work / "step_summary.md"
    env = {**env_base, "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_WORKSPACE": str(folder)}
    codes, outputs = [], {}
    for step in job["steps"]:
        action = step.get("uses", "")
        if action.startswith("actions/checkout@"):
            _checkout(project, folder)
            summary.write_text(EARLIER)
        elif action.startswith("actions/upload-artifact@"):
            _carry(_expand(step["with"]["path"], matrix or {}), folder, artifacts)
            # upload-artifact@v4's outputs, as a later step reads them
            outputs[step.get("id", "")] = {"artifact-id": "1", "artifact-url": f"{ARTIFACT_URL}{step['with']['name']}"}
        elif action.startswith("actions/download-artifact@"):
            _carry("*", artifacts, folder)
        elif "run" in step:
            script = _expand(step["run"], matrix or {}, outputs)
            if not INSTALL.fullmatch(script.strip()):
                codes.append(_bash(script, folder, env))
                if codes[-1]:
                    break
    return codes, folder


def _assert_one_table_after_the_earlier_step(summary: Path, heading: str) -> None:
    text = summary.read_text()
    assert text.startswith(EARLIER)
    assert text.count("### precheck") == 1 and heading in text


@pytest.fixture(scope="module")
def github_job(project, env_base, tmp_path_factory) -> tuple[list, Path, Path]:
    """The GitHub Actions recipe's job, run once: its steps' exit codes, its folder, and where it ran."""
    work = tmp_path_factory.mktemp("github") / "precheck"
    codes, folder = run_github_job(RECIPES["github"]["jobs"]["precheck"], project, work, env_base)
    return codes, folder, work


def test_github_actions_job_passes_and_appends_one_table_to_the_job_summary(github_job):
    codes, folder, work = github_job
    assert codes == [0, 0]
    assert (folder / "precheck-junit.xml").is_file() and (folder / "precheck-report.json").is_file()
    _assert_one_table_after_the_earlier_step(work / "step_summary.md", "### precheck ci")


def test_github_actions_job_uploads_the_html_page_and_links_it_from_the_job_summary(github_job):
    codes, _, work = github_job
    assert codes == [0, 0]
    assert "precheck ci (pyproject.toml): PASS" in (work.parent / "artifacts" / "precheck-report.html").read_text()
    summary = (work / "step_summary.md").read_text()
    assert f"[precheck report page]({ARTIFACT_URL}precheck-report-page)" in summary


def test_github_actions_matrix_shards_and_gate_pass_with_one_summary_table(project, env_base, tmp_path):
    jobs = RECIPES["github-matrix"]["jobs"]
    shards = jobs["scan"]["strategy"]["matrix"]["shard"]
    for shard in shards:
        codes, _ = run_github_job(jobs["scan"], project, tmp_path / f"scan-{shard}", env_base, {"shard": shard})
        assert codes == [0], shard
    codes, folder = run_github_job(jobs["gate"], project, tmp_path / "gate", env_base)
    assert codes == [0]  # before issue 26: exit 2, $GITHUB_STEP_SUMMARY "already exists"
    assert sorted(p.name for p in folder.glob("precheck-shard-*.json")) == [f"precheck-shard-{k}.json" for k in shards]
    assert (folder / "precheck-junit.xml").is_file() and (folder / "precheck-report.json").is_file()
    _assert_one_table_after_the_earlier_step(tmp_path / "gate" / "step_summary.md", "1 of 1 model passes")


# --- GitLab CI ------------------------------------------------------------------------------------------

def run_gitlab_job(job: dict, project: Path, folder: Path, env_base: dict, extra: dict | None = None,
                   artifacts: Path | None = None) -> int:
    """The job's script in a fresh checkout (with the earlier stages' artifacts), as one shell script
    that stops at a failing line, with the job's variables (expanded against the CI variables, as
    GitLab does) and no GitHub variables."""
    _checkout(project, folder)
    if artifacts is not None:
        _carry("*", artifacts, folder)
    env = {**env_base, "CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": str(folder), **(extra or {})}
    for name, value in job.get("variables", {}).items():
        env[name] = re.sub(r"\$(\w+)", lambda m: env[m.group(1)], value)
    lines = [line for line in job["script"] if not INSTALL.fullmatch(line.strip())]
    return _bash("\n".join(lines), folder, env)


def _gitlab_artifacts(job: dict) -> list[str]:
    artifacts = job.get("artifacts", {})
    return [*artifacts.get("paths", []), *artifacts.get("reports", {}).values()]


def test_gitlab_job_passes_and_keeps_its_artifacts(project, env_base, tmp_path):
    job = RECIPES["gitlab"]["precheck"]
    assert run_gitlab_job(job, project, tmp_path / "job", env_base) == 0
    assert all((tmp_path / "job" / name).is_file() for name in _gitlab_artifacts(job))


def test_gitlab_parallel_shards_and_gate_pass(project, env_base, tmp_path):
    recipe = RECIPES["gitlab-matrix"]
    scan, gate = recipe["precheck-scan"], recipe["precheck-gate"]
    total = scan["parallel"]
    for index in range(1, total + 1):
        folder = tmp_path / f"scan-{index}"
        assert run_gitlab_job(scan, project, folder, env_base,
                              {"CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(total)}) == 0, index
        _carry(_gitlab_artifacts(scan), folder, tmp_path / "artifacts")
    assert run_gitlab_job(gate, project, tmp_path / "gate", env_base, artifacts=tmp_path / "artifacts") == 0
    assert all((tmp_path / "gate" / name).is_file() for name in _gitlab_artifacts(gate))


# --- pre-commit -----------------------------------------------------------------------------------------

def _git(folder: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True, text=True).stdout


def _shipped_hook() -> dict:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return hook


def test_pre_commit_hook_in_the_docs_is_the_shipped_hook():
    (repo,) = RECIPES["pre-commit"]["repos"]
    (documented,) = repo["hooks"]
    shipped = _shipped_hook()
    assert {key: shipped[key] for key in documented} == documented
    assert set(shipped) - set(documented) == {"description"}


def test_pre_commit_hook_runs_on_config_and_model_changes_only():
    pattern = re.compile(_shipped_hook()["files"])
    assert all(pattern.search(p) for p in ("pyproject.toml", "precheck.toml", "precheck-baseline.json",
                                           "models/tiny/model.safetensors"))
    assert not any(pattern.search(p) for p in ("README.md", "src/app.py", "docs/models/x.md"))


@pytest.fixture(scope="module")
def pre_commit_repo(project, env_base, tmp_path_factory) -> tuple[Path, dict]:
    """The shipped hook as pre-commit fetches it (a git repository at a rev) and a project that uses it."""
    hooks = tmp_path_factory.mktemp("hook-repo")
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks)
    _git(hooks, "init", "-q")
    _git(hooks, "add", ".")
    _git(hooks, "commit", "-q", "-m", "hooks")
    rev = _git(hooks, "rev-parse", "HEAD").strip()
    folder = _checkout(project, tmp_path_factory.mktemp("pre-commit") / "project")
    config = {"repos": [{"repo": str(hooks), "rev": rev, "hooks": [{"id": "precheck"}]}]}
    (folder / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    env = {**env_base, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home")),
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return folder, env


def _pre_commit(folder: Path, env: dict, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--files", *files], cwd=folder, env=env,
                          capture_output=True, text=True)


def test_pre_commit_runs_the_shipped_hook_when_a_model_changes(pre_commit_repo):
    folder, env = pre_commit_repo
    run = _pre_commit(folder, env, "models/tiny/config.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"precheck half-precision gate\.+Passed", run.stdout)


def test_pre_commit_skips_the_shipped_hook_when_nothing_it_watches_changes(pre_commit_repo):
    folder, env = pre_commit_repo
    run = _pre_commit(folder, env, "probe.txt")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"precheck half-precision gate\.+\(no files to check\)Skipped", run.stdout)
