"""Charts: frames -> plotly figures in Chinese (charts.py, style.py, limits.py) -> PNG/SVG (images.py, kaleido with
the system Chromium). Imports scoring and below.
"""
