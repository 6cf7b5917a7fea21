"""Where the project and the local stack's state live."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = PROJECT_DIR / ".devstack"
TEMPLATE_PATH = PROJECT_DIR / "infra" / "template.json"
