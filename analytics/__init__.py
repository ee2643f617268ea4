"""党建质量看板: ingestion, storage, scoring and exports for party-building quality data."""
