"""Prompt templates (Markdown files with declared inputs), loaded by server.chat.templates."""
