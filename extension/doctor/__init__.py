"""`genesys-om doctor`: check a real Genesys Cloud setup step by step (docs/CONTRACT.md section 10)."""

from .checks import Check
from .diagnosis import diagnose
from .loading import DoctorConfig, load_for_doctor
from .report import render_json, render_text, run_doctor

__all__ = ["Check", "DoctorConfig", "diagnose", "load_for_doctor", "render_json", "render_text", "run_doctor"]
