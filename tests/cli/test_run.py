"""./run, the project's main job: quiet when it has nothing to build; and the READMEs, which
point at nothing outside the repository."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_run_c_prints_only_what_the_code_prints(cli, env):
    # The build that holds the client under test is up to date: ./run has nothing to say.
    e = dict(env, ASYNCODE_BUILD_DIR=os.path.dirname(cli), PATH=os.environ["PATH"])
    r = subprocess.run([str(REPO / "run"), "-c", "print(6 * 7)"], capture_output=True, text=True, env=e,
                       timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (0, "42\n", "")


def test_the_readmes_point_at_nothing_outside_the_repository():
    outside = []
    for readme in (REPO / "README.md", REPO / "clients" / "cli" / "README.md"):
        text = readme.read_text()
        # Markdown links, and paths in backquotes that climb out of the file's folder: each
        # must name a file of the repository.
        for target in re.findall(r"\]\(([^)]+)\)|`(\.\./[^`]*)`", text):
            path = next(p for p in target if p)
            if "://" in path or path.startswith("#"):
                continue
            resolved = (readme.parent / path.split("#")[0]).resolve()
            if (REPO not in resolved.parents and resolved != REPO) or not resolved.exists():
                outside.append("%s: %s" % (readme.relative_to(REPO), path))
    assert not outside, outside
