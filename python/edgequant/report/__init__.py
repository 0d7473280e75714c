"""Reports people read: Markdown documents with tables and plots."""

from .markdown import MarkdownReport, format_table

__all__ = ["MarkdownReport", "format_table"]
