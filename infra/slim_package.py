"""Drop from chalice's Lambda zip what the Lambda Python runtime already provides, and what nothing imports.

`chalice package` installs requirements.txt with every transitive dependency, so pynamodb,
aws-xray-sdk and aws-lambda-powertools bring botocore (16 MB zipped, 60% of the package) and
vaderSentiment brings `requests` (its demo downloads translations; the analyzer never imports
it). The runtime's own boto3 and botocore are used instead (docs/decisions.md, "Lambda
package: the runtime's boto3"). `python infra/slim_package.py out/deployment.zip` rewrites
the zip in place (temp file + rename) and prints what it removed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from pathlib import Path

# Top-level names (packages, modules and their .dist-info) the python3.11 runtime ships with boto3.
IN_THE_RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "six", "urllib3"})
# Only `requests` (vaderSentiment's install requirement) needs these; no packaged code imports it.
UNUSED = frozenset({"requests", "charset_normalizer", "idna"})
LEFT_OUT = IN_THE_RUNTIME | UNUSED


def distribution(entry: str) -> str:
    """The top-level name an archive entry belongs to: `botocore/x.py` and
    `botocore-1.44.8.dist-info/RECORD` → botocore, `six.py` → six."""
    top = entry.split("/", 1)[0]
    for suffix in (".dist-info", ".egg-info", ".data"):
        if top.endswith(suffix):
            return top.removesuffix(suffix).rsplit("-", 1)[0].replace("-", "_").lower()
    return top.removesuffix(".py")


def slim(zip_path: Path, left_out: frozenset[str] = LEFT_OUT) -> dict[str, int]:
    """Rewrite `zip_path` without the entries of `left_out`; answers bytes removed (unpacked) per name."""
    removed: dict[str, int] = {}
    handle, temporary = tempfile.mkstemp(dir=zip_path.parent, suffix=".zip")
    os.close(handle)
    try:
        with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(temporary, "w") as target:
            for info in source.infolist():
                name = distribution(info.filename)
                if name in left_out:
                    removed[name] = removed.get(name, 0) + info.file_size
                    continue
                # Same compression, permissions and timestamps as chalice wrote them.
                target.writestr(info, source.read(info), compress_type=info.compress_type)
        os.chmod(temporary, zip_path.stat().st_mode)
        os.replace(temporary, zip_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return removed


def main(argv: list[str]) -> int:
    zip_path = Path(argv[0] if argv else "out/deployment.zip")
    removed = slim(zip_path)
    listed = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(removed.items(), key=lambda kv: -kv[1]))
    print(f"Left out of {zip_path} (unpacked sizes): {listed or 'nothing'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
