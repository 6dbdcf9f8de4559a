"""The feedback loop: agents' outcome labels back into the bot.

* `handovers`: THE reader of a resolved ticket for the loop (the escalation
  turn, its intent and confidence, the turns before it).
* `tune`: the rules that turn labelled outcomes into tuning-file changes (pure).
* `tune_command`: `rasa-handover tune` (reads the inbox database, prints the
  diff, `--write` writes the tuning file).
* `replay`: the stored turns through the policy's decision with other
  settings, what changed, and which setting would have caught a late one (pure).
* `replay_report`, `replay_command`: `rasa-handover replay` (and `tune --replay`).
* `stories`: labelled handovers as test stories (pure).
* `report` (the figures, pure), `report_html` (the page with plots),
  `report_command`: `rasa-handover report`.
* `export_command`: `rasa-handover export` (corrected intents as NLU examples,
  labelled handovers as test stories).

See docs/feedback.md.
"""
