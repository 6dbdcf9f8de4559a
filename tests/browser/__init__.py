"""The agent inbox page: its routes and wording (always), and in Chromium (browser)."""
