"""Reports people look at: board pages (tables that fit, readable plots) and per-sample galleries, written as a
static site by ``harness report`` (site.py). Layout: assets (CSS/JS, page skeleton), plots, board, gallery (the
shared gallery page), galleries/<kind> (what a sample of each task kind shows), media (thumbnails, audio)."""
