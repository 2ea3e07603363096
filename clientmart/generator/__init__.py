"""Deterministic sample bank: landing files for every feed of the contract.

Entry point: :func:`clientmart.generator.bank.generate_bank` (CLI: ``clientmart generate``).
"""
