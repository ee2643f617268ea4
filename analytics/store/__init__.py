"""Store: the DuckDB database (SPEC §2): connection, migrations, transactions, batches, history and rollback.

database.py holds connect, migrate, transactions, the data version and stored records; batches.py the batch
itself (load, compare, rollback, history, a batch's file and changes); errors.py the Chinese messages of
failures; sql/ the schema versions and fixed queries. Imports only base.
"""
