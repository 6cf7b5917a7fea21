"""The email channel's pure core (issue 10): reply addresses, Message-IDs, threading, loop and
auto-reply detection, who is notified of what, building outbound and parsing inbound MIME,
trimming quoted history. No AWS here: handlers and storage wire it (docs/decisions.md,
"Email channel: the pure core")."""
