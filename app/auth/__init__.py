"""Users, login sessions, CSRF, API tokens and roles."""
