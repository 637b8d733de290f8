"""Registered services: the registry, health checks, scrapes and Prometheus HTTP SD."""
