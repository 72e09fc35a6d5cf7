"""Classified-material procedures (保密制度): classification decisions, borrowing, numbered
copies and supervised destruction, folded from a case's ledger entries and decided purely."""

from custody.secrecy.marking import SecrecyPeriod, mark, parse_period
from custody.secrecy.record import CaseSecrecy

__all__ = ["CaseSecrecy", "SecrecyPeriod", "mark", "parse_period"]
