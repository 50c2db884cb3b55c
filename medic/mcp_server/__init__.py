"""MCP server: tools for AI assistants over stdio and streamable HTTP."""
