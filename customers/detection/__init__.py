"""Defection detection: customer figures, RFM scores, the status lifecycle and defection events
(engine), the rules (rules), the explanation of each status change (explain) and the backtest."""
