"""The chart under test and a real helm binary (v4, fetched by scripts/fetch-helm.sh).

`helm` renders the chart like `helm template` and hands back parsed manifests, or the error
helm printed when it refused the values.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, require_tool

CHART = ROOT / "deploy" / "helm" / "watchdog"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "budgets"
NAMESPACE = "finops"
FULLNAME = f"{RELEASE}-watchdog"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """The manifests one `helm template` produced."""

    manifests: tuple[Manifest, ...]

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self.manifests)

    @property
    def kinds(self) -> set[str]:
        return {m["kind"] for m in self.manifests}

    def all(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> Manifest:
        """The single manifest of `kind` (named `name` when given); fails if not exactly one."""
        found = [m for m in self.all(kind) if name is None or m["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
        return found[0]

    def config_map(self, suffix: str) -> Manifest:
        return self.one("ConfigMap", f"{FULLNAME}-{suffix}")

    def container(self) -> Manifest:
        """The watchdog container of the Deployment."""
        spec = self.one("Deployment")["spec"]["template"]["spec"]
        containers: list[Manifest] = spec["containers"]
        assert [c["name"] for c in containers] == ["watchdog"]
        return containers[0]

    def pod_annotations(self) -> dict[str, str]:
        annotations: dict[str, str] = self.one("Deployment")["spec"]["template"]["metadata"][
            "annotations"
        ]
        return annotations


class HelmRefusedError(AssertionError):
    """helm refused the values; `stderr` is what it printed."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr


@dataclass(frozen=True)
class Helm:
    """A real helm binary pointed at the chart."""

    binary: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HELM_CACHE_HOME": str(ROOT / ".cache" / "helm" / "home")}
        return subprocess.run(
            [self.binary, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )

    def template(
        self, *files: Path, sets: Mapping[str, str] = {}, values: Mapping[str, Any] = {}
    ) -> Rendered:
        """Render the chart with these values files, `values` (as one more file) and --set."""
        with tempfile.TemporaryDirectory(prefix="watchdog-helm-") as tmp:
            extra = Path(tmp) / "values.yaml"
            extra.write_text(yaml.safe_dump(dict(values)), encoding="utf-8")
            result = self.run(
                "template",
                RELEASE,
                str(CHART),
                "--namespace",
                NAMESPACE,
                *_value_args((*files, extra), sets),
            )
        if result.returncode != 0:
            raise HelmRefusedError(result.stderr)
        docs = [d for d in yaml.safe_load_all(result.stdout) if d]
        return Rendered(tuple(docs))

    def refusal(
        self, *files: Path, sets: Mapping[str, str] = {}, values: Mapping[str, Any] = {}
    ) -> str:
        """The error helm prints for values it refuses; fails the test if it renders them."""
        try:
            self.template(*files, sets=sets, values=values)
        except HelmRefusedError as exc:
            return exc.stderr
        raise AssertionError(f"helm accepted values it should refuse: {dict(sets)} {values}")

    def notes(self, *files: Path, sets: Mapping[str, str] = {}) -> str:
        """NOTES.txt as `helm install` prints it (client-side dry run, no cluster)."""
        result = self.run(
            "install",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--dry-run=client",
            *_value_args(files, sets),
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.partition("\nNOTES:\n")[2]


def _value_args(files: tuple[Path, ...], sets: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for path in files:
        args += ["--values", str(path)]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    return args


def ci_values(name: str) -> Path:
    """deploy/helm/watchdog/ci/<name>-values.yaml."""
    path = CHART / "ci" / f"{name}-values.yaml"
    assert path.is_file(), path
    return path


@pytest.fixture(scope="session")
def helm() -> Helm:
    """helm from $WATCHDOG_HELM, else the copy scripts/fetch-helm.sh left in .cache/helm."""
    cached = sorted((ROOT / ".cache" / "helm").glob("*/helm/helm"), reverse=True)
    candidates = [os.environ.get("WATCHDOG_HELM", ""), *map(str, cached)]
    return Helm(require_tool("helm", *[c for c in candidates if c]))
