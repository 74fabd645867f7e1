"""Documentation that cannot drift: every setting and every route is documented."""

from __future__ import annotations

from pathlib import Path

from rejoinder.app import create_app
from rejoinder.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [f"REJOINDER_{name.upper()}" for name in Settings.model_fields
               if f"`REJOINDER_{name.upper()}`" not in text]
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_every_setting_has_a_description() -> None:
    assert all(f.description for f in Settings.model_fields.values())


def test_every_api_route_is_documented(tmp_path: Path) -> None:
    app = create_app(Settings(env="development", data_dir=tmp_path,
                              moderation_backend="null"))
    text = (DOCS / "api.md").read_text()
    routes = set(app.openapi()["paths"])
    assert len(routes) >= 10  # the check below must have something to check
    missing = [p for p in sorted(routes) if f"{p}" not in text]
    assert not missing, f"add to docs/api.md: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text().splitlines()
    block = readme[readme.index("```sh") + 1: readme.index("```sh") + 3]
    assert block[0].startswith("make run") and block[1].startswith("make test")
