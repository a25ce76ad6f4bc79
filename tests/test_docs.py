"""The documentation site builds strictly, and its question reference matches copier.yml."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.paths import TEMPLATE_ROOT
from tools import questions_reference

MKDOCS_YML = TEMPLATE_ROOT / "mkdocs.yml"


def build_site(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config)]
    return subprocess.run(
        [*command, "--site-dir", str(site)],
        cwd=TEMPLATE_ROOT,  # snippets (the CHANGELOG) are found from the repository's root
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},  # a notice about MkDocs 2, on every build
        capture_output=True,
        text=True,
        check=False,
    )


def nav_pages(nav: list[dict[str, object]]) -> list[str]:
    pages = []
    for entry in nav:
        for target in entry.values():
            pages += nav_pages(target) if isinstance(target, list) else [str(target)]
    return pages


def test_question_reference_is_generated_from_copier_yml() -> None:
    expected = questions_reference.render_page()
    command = "uv run python -m tools.questions_reference"
    assert questions_reference.PAGE.read_text() == expected, f"out of date: run `{command}`"
    config = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    for name in (name for name in config if not name.startswith("_")):
        assert f"### `{name}`" in expected


def test_every_question_is_explained_on_the_questions_page() -> None:
    """docs/questions.md, written by hand, explains each question the reference lists."""
    explained = (TEMPLATE_ROOT / "docs" / "questions.md").read_text()
    config = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    missing = [
        question.name
        for question in questions_reference.questions(config)
        if not question.computed and f"`{question.name}`" not in explained
    ]
    assert not missing, f"docs/questions.md does not explain {missing}"


def test_site_builds_strictly_with_every_page_in_the_nav(tmp_path: Path) -> None:
    result = build_site(MKDOCS_YML, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    nav = yaml.safe_load(MKDOCS_YML.read_text())["nav"]
    for page in nav_pages(nav):
        built = "index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html"
        assert (tmp_path / "site" / built).is_file(), built
    changelog = (tmp_path / "site" / "changelog" / "index.html").read_text()
    assert "0.3.0 - unreleased" in changelog  # CHANGELOG.md itself, included


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """mkdocs.yml's settings on a one-page site whose page links to a page that does not exist."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [a missing page](no-such-page.md).\n")
    config = yaml.safe_load(MKDOCS_YML.read_text())
    config |= {"docs_dir": str(docs), "nav": [{"Home": "index.md"}]}
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    result = build_site(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr
