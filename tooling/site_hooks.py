"""MkDocs hooks (mkdocs.yml): the pages and assets the site generates when it is built.

- `questions.md`, the reference of every question, from copier.yml (tooling/site.py);
- `changelog.md`, the repository's CHANGELOG.md, which the docs link to as `../CHANGELOG.md`;
- `assets/vendor/mermaid.min.js`, the pinned mermaid, so that no page loads a script from elsewhere;
- `<!-- quickstart -->` in a page becomes the README's Quick-start commands, and
  `<!-- choosing:QUESTION -->` the table of that question's answers (tooling/site.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # MkDocs loads hooks by path
    sys.path.insert(0, str(ROOT))

from tooling import site  # noqa: E402


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "questions.md", content=site.questions_reference()))
    files.append(File.generated(config, "changelog.md", content=(ROOT / "CHANGELOG.md").read_text()))
    mermaid = str(site.mermaid_script())
    files.append(File.generated(config, "assets/vendor/mermaid.min.js", abs_src_path=mermaid))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    markdown = markdown.replace("](../CHANGELOG.md", "](changelog.md")
    markdown = markdown.replace("<!-- quickstart -->", site.quickstart_block())
    return re.sub(r"<!-- choosing:(\w+) -->", lambda m: site.choosing_table(m[1]), markdown)
