"""The public transparency site: what the market decided, what each participant's privacy cost, how the board
governed, and the log with proofs anyone can check. Read-only, no login, server-rendered."""
