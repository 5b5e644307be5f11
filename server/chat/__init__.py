"""Chat: conversations and cited answers over the caller's documents (LLM or extractive)."""
