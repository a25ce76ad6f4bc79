"""Where the template under test lives."""

from pathlib import Path

TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
COPIER_YML = TEMPLATE_ROOT / "copier.yml"
