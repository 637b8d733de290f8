"""Dashboard pages: the layout shell, navigation and page view models."""
