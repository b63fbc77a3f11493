"""The study report: tables (CSV, Markdown, LaTeX), figures and provenance in one
offline HTML page."""
