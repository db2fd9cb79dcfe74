"""The console page's files (package data: HTML, CSS, ES modules). Not Python."""
