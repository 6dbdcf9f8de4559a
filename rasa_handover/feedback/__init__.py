"""The feedback loop: agents' outcome labels back into the bot.

* `handovers`: THE reader of a resolved ticket for the loop (the escalation
  turn, its intent and confidence, the turns before it).
* `tune`: the rules that turn labelled outcomes into tuning-file changes (pure).
* `tune_command`: `rasa-handover tune` (reads the inbox database, prints the
  diff, `--write` writes the tuning file).
* `export_command`: `rasa-handover export` (corrected intents as NLU examples).

See docs/feedback.md.
"""
