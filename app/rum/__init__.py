"""Real-user monitoring: the Web Vitals beacon, its ingest, daily aggregates and their pages."""
