"""Accounts (SPEC §7): users and argon2 passwords (auth.py), who may do what (access.py), the audit log (audit.py).

Imports store and base.
"""
