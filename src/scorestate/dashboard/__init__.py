"""The dashboard: a web page to pick a preset, move the policy's knobs and watch the society change."""
