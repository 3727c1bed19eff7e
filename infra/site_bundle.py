"""The deployable site: `build/<stage>/site/`, a copy of site/ whose ES modules are bundled by esbuild.

    python -m infra.site_bundle --stage prod        # `make package` and `make deploy` run it

site/ stays unbundled for development (`make run`, the browser tests). The deployed pages load one script each
at the URL they name today, so neither index.html changes: `js/app.js` (the citizen site: all 19 modules, the
views it loads with `import()` included, since without code splitting esbuild puts them in the same file) and
`staff/staff.js` (the staff console, with the two modules it imports from js/). The other module files are left
out of the output: nothing requests them. A visit then asks for 5 static files instead of 20 and waits for no
import waterfall (infra/capacity/measured.json `today.static_requests`, tests/browser/test_site_bundle.py).

esbuild comes from the npm registry, pinned with its lockfile in infra/site/ (`make site-deps` runs `npm ci`);
Node and npm are needed to package and deploy, not to run or test the unbundled site.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = ROOT / "site"
TOOLS = ROOT / "infra" / "site"  # package.json + package-lock.json; `npm ci` installs node_modules/ there
ESBUILD = TOOLS / "node_modules" / ".bin" / "esbuild"
# The scripts the pages name (<script type="module" src=...>), relative to site/: each becomes one bundle.
ENTRY_POINTS = ("js/app.js", "staff/staff.js")
# The syntax level of the site's source (tests/browser/test_site_source.py keeps it to what 2018 phones, Safari 12 /
# Chrome 70, run: ES2019's `catch {` at most), so the minifier writes nothing newer (`??`, `?.`). A syntax level, not
# browser names: esbuild's browser tables refuse the destructuring the source already has for those versions.
TARGET = "es2019"


class BundleError(RuntimeError):
    pass


def build_dir(stage: str) -> Path:
    return ROOT / "build" / stage / "site"


def _module_sources(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore: every ES module (the bundles replace them); config.js, the only script that is
    not a module, stays."""
    return {n for n in names if n.endswith(".js") and Path(folder, n) != SITE_DIR / "config.js"}


def esbuild_command(out: Path) -> list[str]:
    return [
        str(ESBUILD),
        *(str(SITE_DIR / entry) for entry in ENTRY_POINTS),
        "--bundle",
        "--format=esm",
        "--minify",
        f"--target={TARGET}",
        # Linked maps: a deployed page's error names a line and column of one minified line, which only the map
        # turns back into a file of site/. A browser fetches a map only when its developer tools are open, so
        # no visit requests one (the browser test checks every file a visit requests).
        "--sourcemap=linked",
        "--legal-comments=none",
        f"--outbase={SITE_DIR}",
        f"--outdir={out}",
        "--log-level=warning",
    ]


def build_site(out: Path) -> Path:
    """Write the bundled site to `out` (replacing what was there); returns `out`."""
    if not ESBUILD.exists():
        raise BundleError(f"{ESBUILD.relative_to(ROOT)} is missing: run `make site-deps` (npm ci in infra/site)")
    out = Path(out).resolve()
    if out.is_relative_to(SITE_DIR) or SITE_DIR.is_relative_to(out):
        raise BundleError(f"{out}: not inside or around site/, which it would replace")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(SITE_DIR, out, ignore=_module_sources)
    result = subprocess.run(esbuild_command(out), cwd=ROOT, capture_output=True, text=True, check=False)
    # esbuild exits 0 on warnings (an import it could not resolve at build time, say): a deploy takes neither.
    if result.returncode != 0 or result.stderr.strip():
        raise BundleError(f"esbuild failed ({result.returncode}):\n{result.stderr}")
    # A folder left without files (js/views/) would be synced as nothing anyway; drop it so the output reads true.
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.site_bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="writes build/<stage>/site/")
    parser.add_argument("--out", type=Path, help="another folder instead")
    args = parser.parse_args(argv)
    try:
        out = build_site(args.out or build_dir(args.stage))
    except BundleError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"bundled site: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
