"""The Lambda zip leaves out what the runtime provides and what nothing imports (infra/slim_package.py)."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

from devstack.paths import PROJECT_DIR


def _slim_package() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slim_package", PROJECT_DIR / "infra" / "slim_package.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_leaves_out_the_runtimes_boto3_and_unused_requests_but_keeps_the_app_and_its_dependencies(
    tmp_path: Path,
) -> None:
    zip_path = tmp_path / "deployment.zip"
    kept = [
        "app.py",
        "chalicelib/__init__.py",
        "pynamodb/models.py",
        "pynamodb-6.1.0.dist-info/RECORD",
        "cryptography/__init__.py",
        "typing_extensions.py",
        "vaderSentiment/vader_lexicon.txt",
    ]
    left_out = [
        "boto3/__init__.py",
        "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
        "botocore-1.44.8.dist-info/RECORD",
        "s3transfer/manager.py",
        "jmespath-1.1.0.data/scripts/jp.py",
        "dateutil/tz/tz.py",
        "python_dateutil-2.9.0.dist-info/METADATA",
        "six.py",
        "urllib3/poolmanager.py",
        "requests/api.py",
        "charset_normalizer/api.py",
        "idna/core.py",
    ]
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in kept + left_out:
            archive.writestr(name, "x" * 100)

    removed = _slim_package().slim(zip_path)

    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted(kept)
        assert archive.read("app.py") == b"x" * 100
    assert set(removed) == {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "dateutil",
        "python_dateutil",
        "six",
        "urllib3",
        "requests",
        "charset_normalizer",
        "idna",
    }


def test_no_packaged_code_imports_requests() -> None:
    """`requests` is left out as unused: the app and the analyzer it runs must not import it."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['requests'] = None\n"
        "import app\n"
        "from chalicelib.domain.sentiment import score\n"
        "assert score('This is terrible, nothing works') < 0\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
